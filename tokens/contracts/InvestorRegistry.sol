// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/// @title InvestorRegistry
/// @notice One registry per portal, shared by all of its tokens. It maps wallets to investors
/// (persons or entities, identified off-chain by a bytes32 id) with the investor's country
/// (ISO 3166-1 numeric), attribute flags and verification expiry.
/// @dev Everything a token needs to check one party of a transfer sits in ONE storage word per
/// wallet (see the WORD_* layout), so a transfer reads two cold slots through one static call.
/// Investor attributes are therefore copied into each of the investor's wallets; updating an
/// investor rewrites its wallets, which the agent passes in (sorted) so the registry does not pay
/// to store a wallet list.
///
/// A wallet is bound to its investor for life: removing it only deactivates it. Tokens count
/// holders per investor under the investor's key (its first wallet), so a wallet that moved to
/// another investor would corrupt those counts.
contract InvestorRegistry is AccessControl {
    // ------------------------------------------------------------------ roles and flags

    bytes32 public constant AGENT_ROLE = keccak256("AGENT_ROLE");

    /// Identity verified (CIP / KYC passed); required for a wallet to count as verified.
    uint16 public constant FLAG_KYC = 1 << 0;
    /// Accredited investor, Rule 501(a) (verified when the offering is 506(c)).
    uint16 public constant FLAG_ACCREDITED = 1 << 1;
    /// US person (Regulation S, Rule 902(k)); Reg S tokens forbid it during the compliance period.
    uint16 public constant FLAG_US_PERSON = 1 << 2;
    /// The investor is an entity, not a natural person.
    uint16 public constant FLAG_ENTITY = 1 << 3;
    // Bits 4..15 are left to the portal for further attributes (e.g. qualified purchaser).

    // ------------------------------------------------------------------ packed wallet word
    // bits   0..159  investor key: the investor's first wallet (0 = never registered)
    // bits 160..175  country, ISO 3166-1 numeric
    // bits 176..191  flags
    // bits 192..231  expiry (unix seconds); verified only while block.timestamp < expiry
    // bit  232       active (registered and not removed)
    uint256 internal constant WORD_COUNTRY_SHIFT = 160;
    uint256 internal constant WORD_FLAGS_SHIFT = 176;
    uint256 internal constant WORD_EXPIRY_SHIFT = 192;
    uint256 internal constant WORD_ACTIVE = 1 << 232;

    // ------------------------------------------------------------------ packed investor word
    // bits   0..159  key wallet
    // bits 160..175  country
    // bits 176..191  flags
    // bits 192..231  expiry
    // bits 232..247  number of active wallets
    uint256 private constant INV_COUNT_SHIFT = 232;
    uint256 private constant MASK_16 = 0xffff;
    uint256 private constant MASK_40 = 0xffffffffff;
    uint256 private constant MASK_160 = (1 << 160) - 1;
    uint256 private constant ATTRIBUTES_MASK = ((1 << 232) - 1) ^ MASK_160;

    mapping(address wallet => uint256) private _wallets;
    mapping(bytes32 investorId => uint256) private _investors;
    mapping(address key => bytes32) private _investorIdOfKey;

    // ------------------------------------------------------------------ events

    event InvestorRegistered(bytes32 indexed investorId, address indexed keyWallet, uint16 country, uint16 flags, uint40 expiry);
    event InvestorUpdated(bytes32 indexed investorId, uint16 country, uint16 flags, uint40 expiry);
    event InvestorRemoved(bytes32 indexed investorId);
    event WalletAdded(bytes32 indexed investorId, address indexed wallet);
    event WalletRemoved(bytes32 indexed investorId, address indexed wallet);

    // ------------------------------------------------------------------ errors

    error InvestorAlreadyRegistered(bytes32 investorId);
    error UnknownInvestor(bytes32 investorId);
    error InvalidInvestorId();
    error InvalidWallet(address wallet);
    error InvalidCountry(uint16 country);
    error WalletAlreadyActive(address wallet);
    error WalletBoundToOtherInvestor(address wallet, bytes32 investorId);
    error WalletNotActive(address wallet);
    /// The wallets passed to update or remove an investor must be exactly its active wallets, sorted ascending.
    error WalletListMismatch(bytes32 investorId, uint256 expectedCount, uint256 givenCount);
    error WalletListNotSorted(address wallet);
    error WalletNotOfInvestor(address wallet, bytes32 investorId);
    error LengthMismatch();
    error TooManyWallets(bytes32 investorId);

    constructor(address admin, address agent) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        if (agent != address(0)) _grantRole(AGENT_ROLE, agent);
    }

    // ------------------------------------------------------------------ agent role (ERC-3643 AgentRole names)

    function addAgent(address agent) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _grantRole(AGENT_ROLE, agent);
    }

    function removeAgent(address agent) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _revokeRole(AGENT_ROLE, agent);
    }

    function isAgent(address account) external view returns (bool) {
        return hasRole(AGENT_ROLE, account);
    }

    // ------------------------------------------------------------------ investors

    /// Registers an investor with its first wallet, which becomes the investor's key for life.
    function registerInvestor(bytes32 investorId, address wallet, uint16 country, uint16 flags, uint40 expiry)
        external
        onlyRole(AGENT_ROLE)
    {
        _registerInvestor(investorId, wallet, country, flags, expiry);
    }

    function batchRegisterInvestors(
        bytes32[] calldata investorIds,
        address[] calldata wallets,
        uint16[] calldata countries,
        uint16[] calldata flags,
        uint40[] calldata expiries
    ) external onlyRole(AGENT_ROLE) {
        uint256 n = investorIds.length;
        if (wallets.length != n || countries.length != n || flags.length != n || expiries.length != n) {
            revert LengthMismatch();
        }
        for (uint256 i; i < n; ++i) {
            _registerInvestor(investorIds[i], wallets[i], countries[i], flags[i], expiries[i]);
        }
    }

    /// Changes an investor's country, flags and expiry. `wallets` must list all of its active
    /// wallets in ascending order; each one's word is rewritten.
    function updateInvestor(bytes32 investorId, uint16 country, uint16 flags, uint40 expiry, address[] calldata wallets)
        external
        onlyRole(AGENT_ROLE)
    {
        _updateInvestor(investorId, country, flags, expiry, wallets);
    }

    function batchUpdateInvestors(
        bytes32[] calldata investorIds,
        uint16[] calldata countries,
        uint16[] calldata flags,
        uint40[] calldata expiries,
        address[][] calldata wallets
    ) external onlyRole(AGENT_ROLE) {
        uint256 n = investorIds.length;
        if (countries.length != n || flags.length != n || expiries.length != n || wallets.length != n) {
            revert LengthMismatch();
        }
        for (uint256 i; i < n; ++i) {
            _updateInvestor(investorIds[i], countries[i], flags[i], expiries[i], wallets[i]);
        }
    }

    /// Removes an investor: clears its attributes and deactivates all of its wallets (listed
    /// sorted). The record and the wallet bindings stay, so holder counts in tokens stay right
    /// and the investor can be reinstated with `updateInvestor` and `addWallet`.
    function removeInvestor(bytes32 investorId, address[] calldata wallets) external onlyRole(AGENT_ROLE) {
        _removeInvestor(investorId, wallets);
    }

    function batchRemoveInvestors(bytes32[] calldata investorIds, address[][] calldata wallets)
        external
        onlyRole(AGENT_ROLE)
    {
        if (wallets.length != investorIds.length) revert LengthMismatch();
        for (uint256 i; i < investorIds.length; ++i) {
            _removeInvestor(investorIds[i], wallets[i]);
        }
    }

    // ------------------------------------------------------------------ wallets

    function addWallet(address wallet, bytes32 investorId) external onlyRole(AGENT_ROLE) {
        _addWallet(wallet, investorId);
    }

    function batchAddWallets(address[] calldata wallets, bytes32[] calldata investorIds)
        external
        onlyRole(AGENT_ROLE)
    {
        if (wallets.length != investorIds.length) revert LengthMismatch();
        for (uint256 i; i < wallets.length; ++i) {
            _addWallet(wallets[i], investorIds[i]);
        }
    }

    /// Deactivates a wallet; it stays bound to its investor and can be re-added to it only.
    function removeWallet(address wallet) external onlyRole(AGENT_ROLE) {
        _removeWallet(wallet);
    }

    function batchRemoveWallets(address[] calldata wallets) external onlyRole(AGENT_ROLE) {
        for (uint256 i; i < wallets.length; ++i) {
            _removeWallet(wallets[i]);
        }
    }

    // ------------------------------------------------------------------ views for tokens

    /// Packed words of both parties of a transfer, read by tokens in one static call on every
    /// transfer. The suffix gives the selector 0x0000099b, first in the dispatcher's sorted list.
    function packedPair_anwI(address from, address to) external view returns (uint256, uint256) {
        // Both words straight from the mapping slots into the return data, in scratch space.
        assembly ("memory-safe") {
            mstore(0x00, from)
            mstore(0x20, _wallets.slot)
            let wf := sload(keccak256(0x00, 0x40))
            mstore(0x00, to)
            mstore(0x20, sload(keccak256(0x00, 0x40)))
            mstore(0x00, wf)
            return(0x00, 0x40)
        }
    }

    /// Packed words of many wallets (batch mint).
    function packedWallets(address[] calldata wallets) external view returns (uint256[] memory words) {
        words = new uint256[](wallets.length);
        for (uint256 i; i < wallets.length; ++i) {
            words[i] = _wallets[wallets[i]];
        }
    }

    // ------------------------------------------------------------------ views (ERC-3643 IdentityRegistry names)

    /// True when the wallet is active, its investor passed KYC and its verification has not expired.
    function isVerified(address wallet) external view returns (bool) {
        uint256 w = _wallets[wallet];
        return w & WORD_ACTIVE != 0 && (w >> WORD_FLAGS_SHIFT) & FLAG_KYC != 0
            && block.timestamp < (w >> WORD_EXPIRY_SHIFT) & MASK_40;
    }

    /// True when the wallet is registered and active.
    function contains(address wallet) external view returns (bool) {
        return _wallets[wallet] & WORD_ACTIVE != 0;
    }

    function investorCountry(address wallet) external view returns (uint16) {
        return uint16(_wallets[wallet] >> WORD_COUNTRY_SHIFT);
    }

    /// The investor a wallet is bound to (also after the wallet was removed); zero if never registered.
    function investorIdOf(address wallet) public view returns (bytes32) {
        return _investorIdOfKey[address(uint160(_wallets[wallet]))];
    }

    function walletInfo(address account)
        external
        view
        returns (bytes32 investorId, address keyWallet, uint16 country, uint16 flags, uint40 expiry, bool active)
    {
        uint256 w = _wallets[account];
        keyWallet = address(uint160(w));
        investorId = _investorIdOfKey[keyWallet];
        country = uint16(w >> WORD_COUNTRY_SHIFT);
        flags = uint16(w >> WORD_FLAGS_SHIFT);
        expiry = uint40(w >> WORD_EXPIRY_SHIFT);
        active = w & WORD_ACTIVE != 0;
    }

    function investorInfo(bytes32 investorId)
        external
        view
        returns (address keyWallet, uint16 country, uint16 flags, uint40 expiry, uint16 walletCount)
    {
        uint256 v = _investors[investorId];
        keyWallet = address(uint160(v));
        country = uint16(v >> WORD_COUNTRY_SHIFT);
        flags = uint16(v >> WORD_FLAGS_SHIFT);
        expiry = uint40(v >> WORD_EXPIRY_SHIFT);
        walletCount = uint16(v >> INV_COUNT_SHIFT);
    }

    // ------------------------------------------------------------------ internals

    function _attributes(uint16 country, uint16 flags, uint40 expiry) private pure returns (uint256) {
        // ISO 3166-1 numeric codes run 004..894; 0 marks "no country" and 1000+ does not exist.
        if (country == 0 || country > 999) revert InvalidCountry(country);
        return (uint256(country) << WORD_COUNTRY_SHIFT) | (uint256(flags) << WORD_FLAGS_SHIFT)
            | (uint256(expiry) << WORD_EXPIRY_SHIFT);
    }

    function _registerInvestor(bytes32 investorId, address wallet_, uint16 country, uint16 flags, uint40 expiry)
        private
    {
        if (investorId == bytes32(0)) revert InvalidInvestorId();
        if (wallet_ == address(0)) revert InvalidWallet(wallet_);
        if (_investors[investorId] != 0) revert InvestorAlreadyRegistered(investorId);
        uint256 w = _wallets[wallet_];
        if (w != 0) revert WalletBoundToOtherInvestor(wallet_, _investorIdOfKey[address(uint160(w))]);
        uint256 attrs = _attributes(country, flags, expiry);
        uint256 key = uint256(uint160(wallet_));
        _investors[investorId] = key | attrs | (uint256(1) << INV_COUNT_SHIFT);
        _investorIdOfKey[wallet_] = investorId;
        _wallets[wallet_] = key | attrs | WORD_ACTIVE;
        emit InvestorRegistered(investorId, wallet_, country, flags, expiry);
        emit WalletAdded(investorId, wallet_);
    }

    function _addWallet(address wallet_, bytes32 investorId) private {
        if (wallet_ == address(0)) revert InvalidWallet(wallet_);
        uint256 v = _investors[investorId];
        if (v == 0) revert UnknownInvestor(investorId);
        uint256 key = v & MASK_160;
        uint256 w = _wallets[wallet_];
        if (w != 0) {
            if (w & MASK_160 != key) revert WalletBoundToOtherInvestor(wallet_, _investorIdOfKey[address(uint160(w))]);
            if (w & WORD_ACTIVE != 0) revert WalletAlreadyActive(wallet_);
        }
        uint256 count = (v >> INV_COUNT_SHIFT) & MASK_16;
        if (count == MASK_16) revert TooManyWallets(investorId);
        _investors[investorId] = v + (uint256(1) << INV_COUNT_SHIFT);
        _wallets[wallet_] = (v & (MASK_160 | ATTRIBUTES_MASK)) | WORD_ACTIVE;
        emit WalletAdded(investorId, wallet_);
    }

    function _removeWallet(address wallet_) private {
        uint256 w = _wallets[wallet_];
        if (w & WORD_ACTIVE == 0) revert WalletNotActive(wallet_);
        address key = address(uint160(w));
        bytes32 investorId = _investorIdOfKey[key];
        _investors[investorId] -= uint256(1) << INV_COUNT_SHIFT;
        // Keep only the binding: the wallet is no longer verified, and cannot join another investor.
        _wallets[wallet_] = uint160(key);
        emit WalletRemoved(investorId, wallet_);
    }

    function _updateInvestor(
        bytes32 investorId,
        uint16 country,
        uint16 flags,
        uint40 expiry,
        address[] calldata wallets
    ) private {
        uint256 v = _investors[investorId];
        if (v == 0) revert UnknownInvestor(investorId);
        uint256 attrs = _attributes(country, flags, expiry);
        uint256 key = v & MASK_160;
        _checkWalletList(investorId, v, wallets);
        uint256 walletWord = key | attrs | WORD_ACTIVE;
        for (uint256 i; i < wallets.length; ++i) {
            _wallets[wallets[i]] = walletWord;
        }
        _investors[investorId] = (v & ~ATTRIBUTES_MASK) | attrs;
        emit InvestorUpdated(investorId, country, flags, expiry);
    }

    function _removeInvestor(bytes32 investorId, address[] calldata wallets) private {
        uint256 v = _investors[investorId];
        if (v == 0) revert UnknownInvestor(investorId);
        _checkWalletList(investorId, v, wallets);
        uint256 key = v & MASK_160;
        for (uint256 i; i < wallets.length; ++i) {
            _wallets[wallets[i]] = key;
            emit WalletRemoved(investorId, wallets[i]);
        }
        // Attributes cleared and no active wallet; the key binding stays.
        _investors[investorId] = key;
        emit InvestorRemoved(investorId);
    }

    /// The list must be exactly the investor's active wallets: right count, strictly ascending
    /// (so no duplicates) and each one active and bound to this investor.
    function _checkWalletList(bytes32 investorId, uint256 v, address[] calldata wallets) private view {
        uint256 expected = (v >> INV_COUNT_SHIFT) & MASK_16;
        if (wallets.length != expected) revert WalletListMismatch(investorId, expected, wallets.length);
        uint256 key = v & MASK_160;
        address previous;
        for (uint256 i; i < wallets.length; ++i) {
            address w = wallets[i];
            if (w <= previous) revert WalletListNotSorted(w);
            uint256 word = _wallets[w];
            if (word & MASK_160 != key || word & WORD_ACTIVE == 0) revert WalletNotOfInvestor(w, investorId);
            previous = w;
        }
    }
}
