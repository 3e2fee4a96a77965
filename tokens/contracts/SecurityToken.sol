// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {InvestorRegistry} from "./InvestorRegistry.sol";

/// @title SecurityToken
/// @notice Permissioned ERC-20 for one class of security. Its transfer rules hold for every
/// transfer, including wallet-to-wallet transfers made without the portal. ERC-3643 function
/// names are used where the two designs overlap; restrictions are also exposed ERC-1404 style.
///
/// Record dates: `balanceOfAt(account, recordId)` and `totalSupplyAt(recordId)` take a record-date
/// id (1, 2, ...) scheduled with `scheduleRecordDate(timestamp)`. The value returned is the balance
/// at the end of the last block whose timestamp is <= that record date, answerable once a block
/// with a later timestamp exists.
///
/// @dev ERC-20 storage is our own: OpenZeppelin's ERC20 keeps balances in a full uint256 mapping,
/// which would cost one extra cold slot per party for the freeze, lock-up and checkpoint state
/// that here shares the balance's slot.
contract SecurityToken is IERC20, IERC20Metadata, IERC20Errors, AccessControl {
    bytes32 public constant AGENT_ROLE = keccak256("AGENT_ROLE");
    /// Who may mint: the agent at first; for a token backed by reserves, only its reserve-guarded
    /// minter, once the admin has granted it this role and revoked it from everyone else.
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    // ------------------------------------------------------------------ rules (bitmask, per token)

    /// Sender and receiver wallets active, KYC passed, verification unexpired.
    uint8 internal constant RULE_VERIFIED = 1 << 0;
    /// Receiver's country on the token's allow-list.
    uint8 internal constant RULE_COUNTRY = 1 << 1;
    /// Receiver has every required flag and none of the forbidden ones (506(c): accredited; Reg S: not a US person).
    uint8 internal constant RULE_FLAGS = 1 << 2;
    /// Minted tokens are locked for the token's lock-up period (Rule 144, Reg CF 227.501, Reg S 903).
    uint8 internal constant RULE_LOCKUP = 1 << 3;
    /// At most `maxInvestors` investors (persons, not wallets) hold tokens (Exchange Act 12(g)).
    uint8 internal constant RULE_MAX_INVESTORS = 1 << 4;
    /// At most `maxNonAccredited` non-accredited investors hold tokens (506(b): 35; 12(g): 500).
    uint8 internal constant RULE_MAX_NON_ACCREDITED = 1 << 5;
    /// No investor (all wallets together) holds more than `maxBalance`.
    uint8 internal constant RULE_MAX_BALANCE = 1 << 6;
    uint8 private constant TRACKED_RULES = RULE_MAX_INVESTORS | RULE_MAX_NON_ACCREDITED | RULE_MAX_BALANCE;
    uint8 private constant REGISTRY_RULES = RULE_VERIFIED | RULE_COUNTRY | RULE_FLAGS;

    // ------------------------------------------------------------------ ERC-1404 restriction codes

    uint8 internal constant CODE_SUCCESS = 0;
    uint8 internal constant CODE_PAUSED = 1;
    uint8 internal constant CODE_SENDER_NOT_VERIFIED = 2;
    uint8 internal constant CODE_RECEIVER_NOT_VERIFIED = 3;
    uint8 internal constant CODE_COUNTRY_NOT_ALLOWED = 4;
    uint8 internal constant CODE_FLAGS_NOT_ALLOWED = 5;
    uint8 internal constant CODE_SENDER_FROZEN = 6;
    uint8 internal constant CODE_RECEIVER_FROZEN = 7;
    uint8 internal constant CODE_INSUFFICIENT_BALANCE = 8;
    uint8 internal constant CODE_AMOUNT_FROZEN = 9;
    uint8 internal constant CODE_TOKENS_LOCKED = 10;
    uint8 internal constant CODE_MAX_INVESTORS = 11;
    uint8 internal constant CODE_MAX_NON_ACCREDITED = 12;
    uint8 internal constant CODE_MAX_BALANCE = 13;
    /// A mint that would take the total supply past 2^128 - 1 (balances are 128-bit fields).
    uint8 internal constant CODE_SUPPLY_LIMIT = 14;

    // ------------------------------------------------------------------ packed config word
    // bit 0 paused | bits 1..8 rules | bit 9 investor tracking on | bits 16..31 required flags
    // bits 32..47 forbidden flags | bits 48..79 country list epoch | bits 80..111 record-date count
    // bits 112..151 last record date | bits 152..183 investor count | bits 184..215 non-accredited count
    uint256 private constant CFG_PAUSED = 1;
    uint256 private constant CFG_RULES_SHIFT = 1;
    uint256 private constant CFG_TRACKING = 1 << 9;
    uint256 private constant CFG_REQUIRED_SHIFT = 16;
    uint256 private constant CFG_FORBIDDEN_SHIFT = 32;
    uint256 private constant CFG_EPOCH_SHIFT = 48;
    uint256 private constant CFG_RECORDS_SHIFT = 80;
    uint256 private constant CFG_LAST_RECORD_SHIFT = 112;
    uint256 private constant CFG_INVESTORS_SHIFT = 152;
    uint256 private constant CFG_NON_ACCREDITED_SHIFT = 184;

    // ------------------------------------------------------------------ packed account word
    // bits 0..127 balance | bits 128..167 lock-up release time | bits 168..199 checkpoint mark
    // (effective record id at the last write) | bit 200 wallet frozen | bit 201 part of the balance
    // frozen (amount in _restrictions) | bit 202 whole balance locked (no amount in _restrictions)
    // | bit 203 zero checkpoint pending | bit 204 investor has tokens in other wallets (key wallet
    // only) | bit 205 investor counted as non-accredited (key wallet only) | bits 206..215 cached
    // allowed country | bits 216..247 country list epoch of that cache
    uint256 private constant ACC_RELEASE_SHIFT = 128;
    uint256 private constant ACC_MARK_SHIFT = 168;
    uint256 private constant ACC_FROZEN = 1 << 200;
    uint256 private constant ACC_PARTIAL = 1 << 201;
    uint256 private constant ACC_LOCK_ALL = 1 << 202;
    uint256 private constant ACC_ZERO_PENDING = 1 << 203;
    uint256 private constant ACC_HAS_EXTRA = 1 << 204;
    uint256 private constant ACC_COUNTED_NON_ACCREDITED = 1 << 205;
    uint256 private constant ACC_COUNTRY_SHIFT = 206;
    uint256 private constant ACC_EPOCH_SHIFT = 216;

    /// keccak256("Transfer(address,address,uint256)")
    bytes32 private constant _TRANSFER_EVENT = 0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef;

    uint256 private constant MASK_32 = 0xffffffff;
    uint256 private constant MASK_40 = 0xffffffffff;
    uint256 private constant MASK_128 = type(uint128).max;
    /// Longest lock-up (about 136 years): a release time `now + period` stays within its 40 bits.
    uint256 private constant MAX_LOCKUP_PERIOD = MASK_32;
    uint256 private constant ACC_RELEASE_MASK = MASK_40 << ACC_RELEASE_SHIFT;
    uint256 private constant ACC_MARK_MASK = MASK_32 << ACC_MARK_SHIFT;
    uint256 private constant ACC_CACHE_MASK = (uint256(0x3ff) << ACC_COUNTRY_SHIFT) | (MASK_32 << ACC_EPOCH_SHIFT);
    /// What recovery moves from the lost wallet to the new one.
    uint256 private constant ACC_WALLET_STATE = MASK_128 | ACC_RELEASE_MASK | ACC_FROZEN | ACC_PARTIAL | ACC_LOCK_ALL;

    // ------------------------------------------------------------------ limits word
    // bits 0..127 max balance per investor | bits 128..167 lock-up period (seconds)
    // bits 168..199 max investors | bits 200..231 max non-accredited investors
    uint256 private constant LIM_PERIOD_SHIFT = 128;
    uint256 private constant LIM_MAX_INVESTORS_SHIFT = 168;
    uint256 private constant LIM_MAX_NON_ACCREDITED_SHIFT = 200;

    // Registry wallet word layout (see InvestorRegistry).
    uint256 private constant REG_COUNTRY_SHIFT = 160;
    uint256 private constant REG_FLAGS_SHIFT = 176;
    uint256 private constant REG_EXPIRY_SHIFT = 192;
    uint256 private constant REG_ACTIVE = 1 << 232;
    uint256 private constant FLAG_KYC = 1;
    uint256 private constant FLAG_ACCREDITED = 2;

    struct Checkpoint {
        uint32 recordId;
        uint224 value;
    }

    /// The registry is fixed for the token's life: reading its address from storage would add a
    /// cold slot to every transfer.
    InvestorRegistry private immutable _registry;
    uint8 private immutable _decimals;
    string private _name;
    string private _symbol;

    uint256 private _config;
    uint256 private _limits;
    /// bits 0..127 total supply; mark and zero-pending bits as in the account word.
    uint256 private _supply;
    mapping(address account => uint256) private _accounts;
    /// bits 0..127 locked amount | bits 128..255 frozen amount
    mapping(address account => uint256) private _restrictions;
    /// Sum of the balances an investor holds in wallets other than its key wallet.
    mapping(address key => uint256) private _extraBalance;
    mapping(address owner => mapping(address spender => uint256)) private _allowances;
    mapping(uint256 word => uint256) private _countryBitmap;
    mapping(uint256 recordId => uint256) private _recordDates;
    mapping(address account => Checkpoint[]) private _balanceCheckpoints;
    Checkpoint[] private _supplyCheckpoints;

    // ------------------------------------------------------------------ events (ERC-3643 names where they overlap)

    event Paused(address userAddress);
    event Unpaused(address userAddress);
    event AddressFrozen(address indexed userAddress, bool indexed isFrozen, address indexed owner);
    event TokensFrozen(address indexed userAddress, uint256 amount);
    event TokensUnfrozen(address indexed userAddress, uint256 amount);
    event RecoverySuccess(address indexed lostWallet, address indexed newWallet, bytes32 indexed investorId);
    event ForcedTransfer(address indexed agent, address indexed from, address indexed to, uint256 amount, string reason);
    event LockupUpdated(address indexed wallet, uint256 lockedAmount, uint40 releaseTime);
    event RecordDateScheduled(uint32 indexed recordId, uint40 timestamp);
    event RulesUpdated(uint8 rules);
    event InvestorFlagsUpdated(uint16 required, uint16 forbidden);
    event CountriesUpdated(uint16[] countries, bool allowed);
    event LimitsUpdated(uint32 maxInvestors, uint32 maxNonAccredited, uint128 maxBalance);
    event LockupPeriodUpdated(uint40 period);

    // ------------------------------------------------------------------ errors: one per rule

    error TokenPaused();
    error SenderNotVerified(address from);
    error ReceiverNotVerified(address to);
    error CountryNotAllowed(address to, uint16 country);
    error InvestorFlagsNotAllowed(address to, uint16 flags, uint16 required, uint16 forbidden);
    error SenderFrozen(address from);
    error ReceiverFrozen(address to);
    error AmountFrozen(address from, uint256 unfrozenBalance, uint256 amount);
    error TokensLocked(address from, uint256 transferableBalance, uint256 amount, uint40 releaseTime);
    error MaxInvestorsReached(uint32 maxInvestors);
    error MaxNonAccreditedReached(uint32 maxNonAccredited);
    error MaxBalanceExceeded(address to, uint256 investorBalance, uint256 maxBalance);
    // administration errors
    error LengthMismatch();
    error InvalidCountry(uint16 country);
    error SupplyOverflow();
    error TrackingNeedsEmptySupply();
    error RecordDateInPast(uint40 timestamp);
    error RecordDatePending(uint32 recordId, uint40 timestamp);
    error RecordDateNotPassed(uint256 recordId);
    error FreezeExceedsBalance(address wallet, uint256 balance, uint256 frozen);
    error UnfreezeExceedsFrozen(address wallet, uint256 frozen, uint256 amount);
    error ReceiverNotRegistered(address to);
    error RecoveryInvestorMismatch(address lostWallet, address newWallet, bytes32 investorId);
    error RecoveryWalletNotEmpty(address newWallet);
    error NothingToRecover(address lostWallet);
    // bounds of the packed fields: none may overflow into its neighbour
    error LockupPeriodTooLong(uint40 period, uint40 maxPeriod);
    error RecordDatesExhausted();
    error CountryListUpdatesExhausted();
    error InvestorCountExhausted();

    constructor(
        string memory name_,
        string memory symbol_,
        uint8 decimals_,
        InvestorRegistry registry_,
        address admin,
        address agent
    ) {
        _name = name_;
        _symbol = symbol_;
        _decimals = decimals_;
        _registry = registry_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        if (agent != address(0)) {
            _grantRole(AGENT_ROLE, agent);
            _grantRole(MINTER_ROLE, agent);
        }
        // Country epoch starts at 1 so an untouched account's empty cache never matches.
        _config = uint256(1) << CFG_EPOCH_SHIFT;
    }

    // ================================================================== ERC-20

    function name() external view returns (string memory) {
        return _name;
    }

    function symbol() external view returns (string memory) {
        return _symbol;
    }

    function decimals() external view returns (uint8) {
        return _decimals;
    }

    function totalSupply() external view returns (uint256) {
        return _supply & MASK_128;
    }

    function balanceOf(address account) external view returns (uint256) {
        return _accounts[account] & MASK_128;
    }

    function allowance(address owner, address spender) external view returns (uint256) {
        return _allowances[owner][spender];
    }

    function approve(address spender, uint256 value) external returns (bool) {
        if (spender == address(0)) revert ERC20InvalidSpender(address(0));
        _allowances[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _transfer(msg.sender, to, value, true);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 allowed = _allowances[from][msg.sender];
        if (allowed != type(uint256).max) {
            if (allowed < value) revert ERC20InsufficientAllowance(msg.sender, allowed, value);
            unchecked {
                _allowances[from][msg.sender] = allowed - value;
            }
        }
        _transfer(from, to, value, true);
        return true;
    }

    /// ERC-3643 batchTransfer: several transfers from the caller, all or nothing.
    function batchTransfer(address[] calldata toList, uint256[] calldata amounts) external {
        if (toList.length != amounts.length) revert LengthMismatch();
        for (uint256 i; i < toList.length; ++i) {
            _transfer(msg.sender, toList[i], amounts[i], false);
        }
    }

    // ================================================================== ERC-1404

    /// Restriction code for a transfer (`from` = address(0) asks about a mint). 0 means allowed.
    /// Non-zero exactly when the transfer (or mint) would revert, in the order its checks run.
    function detectTransferRestriction(address from, address to, uint256 value) public view returns (uint8) {
        uint256 cfg = _config;
        // Checked first by every transfer and mint, whatever the rules (ERC20InvalidReceiver).
        if (to == address(0)) return CODE_RECEIVER_NOT_VERIFIED;
        if (from == address(0)) {
            uint256 wt;
            if (_needsRegistry(cfg)) (, wt) = _registry.packedPair_anwI(to, to);
            uint256 code = _mintRestriction(cfg, wt, _accounts[to], to, value);
            // Every balance is at most the supply, so this is also the receiver's bound (SupplyOverflow).
            if (code == 0 && value > MASK_128 - (_supply & MASK_128)) code = CODE_SUPPLY_LIMIT;
            return uint8(code);
        }
        (uint256 wf, uint256 wt2) = _needsRegistry(cfg) ? _registry.packedPair_anwI(from, to) : (0, 0);
        return uint8(_transferRestriction(cfg, wf, wt2, _accounts[from], _accounts[to], from, to, value));
    }

    function messageForTransferRestriction(uint8 restrictionCode) external pure returns (string memory) {
        if (restrictionCode == CODE_SUCCESS) return "No restriction";
        if (restrictionCode == CODE_PAUSED) return "Token is paused";
        if (restrictionCode == CODE_SENDER_NOT_VERIFIED) return "Sender wallet is not verified or its verification expired";
        if (restrictionCode == CODE_RECEIVER_NOT_VERIFIED) {
            return "Receiver wallet is not verified or its verification expired";
        }
        if (restrictionCode == CODE_COUNTRY_NOT_ALLOWED) return "Receiver's country is not allowed for this token";
        if (restrictionCode == CODE_FLAGS_NOT_ALLOWED) {
            return "Receiver lacks a required investor status (e.g. accredited) or has a forbidden one (e.g. US person)";
        }
        if (restrictionCode == CODE_SENDER_FROZEN) return "Sender wallet is frozen";
        if (restrictionCode == CODE_RECEIVER_FROZEN) return "Receiver wallet is frozen";
        if (restrictionCode == CODE_INSUFFICIENT_BALANCE) return "Sender balance is too low";
        if (restrictionCode == CODE_AMOUNT_FROZEN) return "Amount exceeds the sender's unfrozen balance";
        if (restrictionCode == CODE_TOKENS_LOCKED) return "Tokens are in their lock-up (holding) period";
        if (restrictionCode == CODE_MAX_INVESTORS) return "Maximum number of investors reached";
        if (restrictionCode == CODE_MAX_NON_ACCREDITED) return "Maximum number of non-accredited investors reached";
        if (restrictionCode == CODE_MAX_BALANCE) return "Receiver's investor would exceed the maximum balance per investor";
        if (restrictionCode == CODE_SUPPLY_LIMIT) return "Amount would exceed the token's maximum total supply";
        return "Unknown restriction code";
    }

    // ================================================================== agent operations

    function mint(address to, uint256 amount) external onlyRole(MINTER_ROLE) {
        uint256 cfg = _config;
        uint256 wt;
        if (_needsRegistry(cfg)) (, wt) = _registry.packedPair_anwI(to, to);
        uint256 lim = _limits;
        cfg = _mintOne(cfg, lim, wt, to, amount);
        _config = cfg;
        _addSupply(cfg, amount);
    }

    function batchMint(address[] calldata toList, uint256[] calldata amounts) external onlyRole(MINTER_ROLE) {
        uint256 n = toList.length;
        if (amounts.length != n) revert LengthMismatch();
        uint256 cfg = _config;
        uint256[] memory words;
        if (_needsRegistry(cfg)) words = _registry.packedWallets(toList);
        uint256 lim = _limits;
        uint256 total;
        for (uint256 i; i < n; ++i) {
            uint256 amount = amounts[i];
            cfg = _mintOne(cfg, lim, words.length == 0 ? 0 : words[i], toList[i], amount);
            total += amount;
        }
        _config = cfg;
        _addSupply(cfg, total);
    }

    function burn(address from, uint256 amount) external onlyRole(AGENT_ROLE) {
        _config = _burnOne(_config, from, amount);
        _subSupply(amount);
    }

    function batchBurn(address[] calldata fromList, uint256[] calldata amounts) external onlyRole(AGENT_ROLE) {
        uint256 n = fromList.length;
        if (amounts.length != n) revert LengthMismatch();
        uint256 cfg = _config;
        uint256 total;
        for (uint256 i; i < n; ++i) {
            cfg = _burnOne(cfg, fromList[i], amounts[i]);
            total += amounts[i];
        }
        _config = cfg;
        _subSupply(total);
    }

    function pause() external onlyRole(AGENT_ROLE) {
        _config |= CFG_PAUSED;
        emit Paused(msg.sender);
    }

    function unpause() external onlyRole(AGENT_ROLE) {
        _config &= ~CFG_PAUSED;
        emit Unpaused(msg.sender);
    }

    function setAddressFrozen(address wallet, bool freeze) public onlyRole(AGENT_ROLE) {
        uint256 a = _accounts[wallet];
        _accounts[wallet] = freeze ? a | ACC_FROZEN : a & ~ACC_FROZEN;
        emit AddressFrozen(wallet, freeze, msg.sender);
    }

    function batchSetAddressFrozen(address[] calldata wallets, bool[] calldata freeze) external {
        if (wallets.length != freeze.length) revert LengthMismatch();
        for (uint256 i; i < wallets.length; ++i) {
            setAddressFrozen(wallets[i], freeze[i]);
        }
    }

    function freezePartialTokens(address wallet, uint256 amount) external onlyRole(AGENT_ROLE) {
        uint256 a = _accounts[wallet];
        uint256 r = _restrictions[wallet];
        uint256 frozen = (a & ACC_PARTIAL != 0 ? r >> 128 : 0) + amount;
        if (frozen > a & MASK_128) revert FreezeExceedsBalance(wallet, a & MASK_128, frozen);
        _restrictions[wallet] = (r & MASK_128) | (frozen << 128);
        _accounts[wallet] = frozen == 0 ? a & ~ACC_PARTIAL : a | ACC_PARTIAL;
        emit TokensFrozen(wallet, amount);
    }

    function unfreezePartialTokens(address wallet, uint256 amount) external onlyRole(AGENT_ROLE) {
        uint256 a = _accounts[wallet];
        uint256 r = _restrictions[wallet];
        uint256 frozen = a & ACC_PARTIAL != 0 ? r >> 128 : 0;
        if (amount > frozen) revert UnfreezeExceedsFrozen(wallet, frozen, amount);
        frozen -= amount;
        _restrictions[wallet] = (r & MASK_128) | (frozen << 128);
        _accounts[wallet] = frozen == 0 ? a & ~ACC_PARTIAL : a;
        emit TokensUnfrozen(wallet, amount);
    }

    /// Moves tokens regardless of the transfer rules (court order, error correction, Reg CF
    /// permitted transferees). The receiver must be a registered wallet so the register stays
    /// complete; frozen and locked amounts the move needs are released and reported.
    function forcedTransfer(address from, address to, uint256 amount, string calldata reason)
        external
        onlyRole(AGENT_ROLE)
        returns (bool)
    {
        if (to == address(0)) revert ERC20InvalidReceiver(address(0));
        _forcedMove(from, to, amount);
        emit Transfer(from, to, amount);
        emit ForcedTransfer(msg.sender, from, to, amount, reason);
        return true;
    }

    /// Moves everything a lost wallet holds (balance, frozen status and amount, lock-up) to a new
    /// wallet of the SAME investor, which must be registered and empty.
    function recoveryAddress(address lostWallet, address newWallet, bytes32 investorId)
        external
        onlyRole(AGENT_ROLE)
        returns (bool)
    {
        if (
            investorId == bytes32(0) || lostWallet == newWallet || _registry.investorIdOf(lostWallet) != investorId
                || _registry.investorIdOf(newWallet) != investorId
        ) revert RecoveryInvestorMismatch(lostWallet, newWallet, investorId);
        if (!_registry.contains(newWallet)) revert ReceiverNotRegistered(newWallet);
        uint256 al = _accounts[lostWallet];
        uint256 an = _accounts[newWallet];
        if (an & ACC_WALLET_STATE != 0) revert RecoveryWalletNotEmpty(newWallet);
        uint256 amount = al & MASK_128;
        if (amount == 0) revert NothingToRecover(lostWallet);
        uint256 cfg = _config;
        uint256 eff = _effectiveRecordId(cfg);
        al = _checkpoint(lostWallet, al, eff);
        an = _checkpoint(newWallet, an, eff);
        uint256 moved = al & ACC_WALLET_STATE;
        _accounts[newWallet] = an | moved;
        _accounts[lostWallet] = al & ~ACC_WALLET_STATE;
        if (moved & (ACC_PARTIAL | ACC_RELEASE_MASK) != 0) {
            _restrictions[newWallet] = _restrictions[lostWallet];
            delete _restrictions[lostWallet];
        }
        if (cfg & CFG_TRACKING != 0) _trackRecovery(cfg, lostWallet, newWallet, amount);
        emit Transfer(lostWallet, newWallet, amount);
        if (moved & ACC_FROZEN != 0) emit AddressFrozen(newWallet, true, msg.sender);
        if (moved & ACC_PARTIAL != 0) emit TokensFrozen(newWallet, _restrictions[newWallet] >> 128);
        emit RecoverySuccess(lostWallet, newWallet, investorId);
        return true;
    }

    /// Declares the next record date (dividends, votes). Only one may be pending: the previous
    /// record date must have passed. Returns its id for `balanceOfAt` / `totalSupplyAt`.
    function scheduleRecordDate(uint40 timestamp) external onlyRole(AGENT_ROLE) returns (uint32 recordId) {
        uint256 cfg = _config;
        if (timestamp < block.timestamp) revert RecordDateInPast(timestamp);
        uint256 count = (cfg >> CFG_RECORDS_SHIFT) & MASK_32;
        uint256 last = (cfg >> CFG_LAST_RECORD_SHIFT) & MASK_40;
        if (count != 0 && last >= block.timestamp) revert RecordDatePending(uint32(count), uint40(last));
        if (count == MASK_32) revert RecordDatesExhausted();
        recordId = uint32(count + 1);
        _recordDates[recordId] = timestamp;
        cfg &= ~((MASK_32 << CFG_RECORDS_SHIFT) | (MASK_40 << CFG_LAST_RECORD_SHIFT));
        _config = cfg | (uint256(recordId) << CFG_RECORDS_SHIFT) | (uint256(timestamp) << CFG_LAST_RECORD_SHIFT);
        emit RecordDateScheduled(recordId, timestamp);
    }

    // ================================================================== issuer configuration

    function addAgent(address agent) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _grantRole(AGENT_ROLE, agent);
    }

    function removeAgent(address agent) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _revokeRole(AGENT_ROLE, agent);
    }

    function isAgent(address account) external view returns (bool) {
        return hasRole(AGENT_ROLE, account);
    }

    /// Per-investor caps need holder tracking from the first token on; it is switched on only
    /// while the supply is zero and then stays on, so counts are always exact.
    function setRules(uint8 rules_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        uint256 cfg = _config;
        if (rules_ & TRACKED_RULES != 0 && cfg & CFG_TRACKING == 0) {
            if (_supply & MASK_128 != 0) revert TrackingNeedsEmptySupply();
            cfg |= CFG_TRACKING;
        }
        _config = (cfg & ~(uint256(0xff) << CFG_RULES_SHIFT)) | (uint256(rules_) << CFG_RULES_SHIFT);
        emit RulesUpdated(rules_);
    }

    function setInvestorFlags(uint16 required, uint16 forbidden) external onlyRole(DEFAULT_ADMIN_ROLE) {
        uint256 cfg = _config & ~((uint256(0xffff) << CFG_REQUIRED_SHIFT) | (uint256(0xffff) << CFG_FORBIDDEN_SHIFT));
        _config = cfg | (uint256(required) << CFG_REQUIRED_SHIFT) | (uint256(forbidden) << CFG_FORBIDDEN_SHIFT);
        emit InvestorFlagsUpdated(required, forbidden);
    }

    function setCountriesAllowed(uint16[] calldata countries, bool allowed) external onlyRole(DEFAULT_ADMIN_ROLE) {
        for (uint256 i; i < countries.length; ++i) {
            uint256 c = countries[i];
            if (c == 0 || c > 999) revert InvalidCountry(uint16(c));
            uint256 bit = uint256(1) << (c & 0xff);
            uint256 word = _countryBitmap[c >> 8];
            _countryBitmap[c >> 8] = allowed ? word | bit : word & ~bit;
        }
        // A new epoch invalidates every account's cached country check.
        uint256 cfg = _config;
        if ((cfg >> CFG_EPOCH_SHIFT) & MASK_32 == MASK_32) revert CountryListUpdatesExhausted();
        _config = cfg + (uint256(1) << CFG_EPOCH_SHIFT);
        emit CountriesUpdated(countries, allowed);
    }

    function setLimits(uint32 maxInvestors, uint32 maxNonAccredited, uint128 maxBalance)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        uint256 period = _limits & (MASK_40 << LIM_PERIOD_SHIFT);
        _limits = period | uint256(maxBalance) | (uint256(maxInvestors) << LIM_MAX_INVESTORS_SHIFT)
            | (uint256(maxNonAccredited) << LIM_MAX_NON_ACCREDITED_SHIFT);
        emit LimitsUpdated(maxInvestors, maxNonAccredited, maxBalance);
    }

    /// Lock-up applied to every mint while RULE_LOCKUP is on: Rule 144(d) 6 or 12 months,
    /// Reg CF 227.501 one year, Reg S 903 distribution compliance period (40 days to 1 year).
    function setLockupPeriod(uint40 period) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (period > MAX_LOCKUP_PERIOD) revert LockupPeriodTooLong(period, uint40(MAX_LOCKUP_PERIOD));
        _limits = (_limits & ~(MASK_40 << LIM_PERIOD_SHIFT)) | (uint256(period) << LIM_PERIOD_SHIFT);
        emit LockupPeriodUpdated(period);
    }

    // ================================================================== views

    function version() external pure returns (string memory) {
        return "1.0.0";
    }

    function identityRegistry() external view returns (InvestorRegistry) {
        return _registry;
    }

    function paused() external view returns (bool) {
        return _config & CFG_PAUSED != 0;
    }

    function rules() external view returns (uint8) {
        return uint8(_config >> CFG_RULES_SHIFT);
    }

    function investorTracking() external view returns (bool) {
        return _config & CFG_TRACKING != 0;
    }

    function investorFlags() external view returns (uint16 required, uint16 forbidden) {
        uint256 cfg = _config;
        return (uint16(cfg >> CFG_REQUIRED_SHIFT), uint16(cfg >> CFG_FORBIDDEN_SHIFT));
    }

    function isCountryAllowed(uint16 country) public view returns (bool) {
        return (_countryBitmap[country >> 8] >> (country & 0xff)) & 1 == 1;
    }

    function limits()
        external
        view
        returns (uint32 maxInvestors, uint32 maxNonAccredited, uint128 maxBalance, uint40 lockupPeriod)
    {
        uint256 lim = _limits;
        return (
            uint32(lim >> LIM_MAX_INVESTORS_SHIFT),
            uint32(lim >> LIM_MAX_NON_ACCREDITED_SHIFT),
            uint128(lim),
            uint40(lim >> LIM_PERIOD_SHIFT)
        );
    }

    /// Investors (persons) holding tokens; kept only while investor tracking is on.
    function investorCount() external view returns (uint32) {
        return uint32(_config >> CFG_INVESTORS_SHIFT);
    }

    function nonAccreditedCount() external view returns (uint32) {
        return uint32(_config >> CFG_NON_ACCREDITED_SHIFT);
    }

    /// Tokens held by the wallet's investor across all of its wallets (investor tracking on).
    function investorBalance(address wallet_) external view returns (uint256) {
        (uint256 w,) = _registry.packedPair_anwI(wallet_, wallet_);
        address key = address(uint160(w));
        if (key == address(0)) return _accounts[wallet_] & MASK_128;
        return (_accounts[key] & MASK_128) + _extraBalance[key];
    }

    function isFrozen(address wallet_) external view returns (bool) {
        return _accounts[wallet_] & ACC_FROZEN != 0;
    }

    function getFrozenTokens(address wallet_) external view returns (uint256) {
        return _accounts[wallet_] & ACC_PARTIAL != 0 ? _restrictions[wallet_] >> 128 : 0;
    }

    /// Locked amount and its release time; (0, 0) once released.
    function lockup(address wallet_) external view returns (uint256 lockedAmount, uint40 releaseTime) {
        uint256 a = _accounts[wallet_];
        releaseTime = uint40(a >> ACC_RELEASE_SHIFT);
        if (releaseTime <= block.timestamp) return (0, 0);
        lockedAmount = _lockedAmount(wallet_, a);
    }

    function recordDateCount() external view returns (uint32) {
        return uint32(_config >> CFG_RECORDS_SHIFT);
    }

    function recordDate(uint256 recordId) external view returns (uint40) {
        return uint40(_recordDates[recordId]);
    }

    function balanceOfAt(address account, uint256 recordId) external view returns (uint256) {
        _requirePassed(recordId);
        return _valueAt(_balanceCheckpoints[account], _accounts[account], recordId);
    }

    function totalSupplyAt(uint256 recordId) external view returns (uint256) {
        _requirePassed(recordId);
        return _valueAt(_supplyCheckpoints, _supply, recordId);
    }

    // ================================================================== internals: transfers

    /// `returnTrue`: called by transfer or transferFrom, whose only remaining step is to return
    /// true; the fast path then ends the call itself with that same return data.
    function _transfer(address from, address to, uint256 amount, bool returnTrue) private {
        (bool done, uint256 cfg, uint256 wf, uint256 wt, uint256 af, uint256 at) =
            _fastTransfer(from, to, amount, returnTrue);
        if (!done) _checkedTransfer(from, to, amount, cfg, wf, wt, af, at);
    }

    /// The common transfer in one pass: loads the config, both accounts and both registry words,
    /// and completes the transfer itself when every rule passes without further state, i.e. the
    /// token is not paused, investor tracking is off, both wallets are verified, the receiver's
    /// allowed country is cached for the current country list, its flags are allowed, neither
    /// wallet is frozen, the balance suffices, the sender has no frozen amount, neither account
    /// has a lock-up recorded and neither needs a checkpoint. Otherwise it returns what it loaded
    /// (the registry words stay zero when the call was not needed) for `_checkedTransfer`.
    function _fastTransfer(address from, address to, uint256 amount, bool returnTrue)
        private
        returns (bool done, uint256 cfg, uint256 wf, uint256 wt, uint256 af, uint256 at)
    {
        address registry = address(_registry);
        assembly ("memory-safe") {
            cfg := sload(_config.slot)
            mstore(0x00, from)
            mstore(0x20, _accounts.slot)
            let slotFrom := keccak256(0x00, 0x40)
            af := sload(slotFrom)
            mstore(0x00, to)
            let slotTo := keccak256(0x00, 0x40)
            at := sload(slotTo)
            // Non-zero when the fast path does not apply: paused or investor tracking on (config
            // bits 0 and 9), a zero party, a transfer to oneself, either wallet frozen (bit 200) or
            // with a lock-up recorded (bits 128..167), a frozen amount on the sender (bit 201), an
            // insufficient balance.
            let slow := or(
                or(and(cfg, 0x201), or(or(iszero(from), iszero(to)), eq(from, to))),
                or(
                    or(
                        and(or(af, at), 0x100000000ffffffffff00000000000000000000000000000000),
                        and(af, 0x200000000000000000000000000000000000000000000000000)
                    ),
                    gt(amount, and(af, 0xffffffffffffffffffffffffffffffff))
                )
            )
            {
                // Effective record id (record dates passed): a checkpoint is due on an account
                // whose mark (bits 168..199) is below it.
                let eff := and(shr(80, cfg), 0xffffffff)
                if eff { eff := sub(eff, iszero(lt(and(shr(112, cfg), 0xffffffffff), timestamp()))) }
                slow := or(slow, or(lt(and(shr(168, af), 0xffffffff), eff), lt(and(shr(168, at), 0xffffffff), eff)))
            }
            // The registry words whenever the full path would read them (_needsRegistry), so it
            // can take over with everything loaded. Rule bits start at config bit 1: RULE_VERIFIED
            // 0x2, RULE_COUNTRY 0x4, RULE_FLAGS 0x8; CFG_TRACKING is 0x200.
            if and(cfg, 0x20e) {
                // Call data in the scratch space and the free memory pointer's slot, restored after.
                let fmp := mload(0x40)
                // InvestorRegistry.packedPair_anwI(address,address)
                mstore(0x00, 0x0000099b)
                mstore(0x20, from)
                mstore(0x40, to)
                if iszero(and(gt(returndatasize(), 0x3f), staticcall(gas(), registry, 0x1c, 0x44, 0x00, 0x40))) {
                    returndatacopy(0x00, 0x00, returndatasize())
                    revert(0x00, returndatasize())
                }
                wf := mload(0x00)
                wt := mload(0x20)
                mstore(0x40, fmp)
            }
            if iszero(slow) {
                // RULE_VERIFIED: both wallets active (bit 232) with FLAG_KYC (bit 176) and unexpired.
                if and(cfg, 0x2) {
                    slow := xor(and(and(wf, wt), 0x10000000000000100000000000000000000000000000000000000000000), 0x10000000000000100000000000000000000000000000000000000000000)
                    slow := or(slow, iszero(lt(timestamp(), and(shr(192, wf), 0xffffffffff))))
                    slow := or(slow, iszero(lt(timestamp(), and(shr(192, wt), 0xffffffffff))))
                }
                // RULE_COUNTRY: the receiver's account caches its allowed country with the list epoch.
                if and(cfg, 0x4) {
                    slow := or(
                        slow,
                        or(
                            xor(and(shr(206, at), 0x3ff), and(shr(160, wt), 0xffff)),
                            xor(and(shr(216, at), 0xffffffff), and(shr(48, cfg), 0xffffffff))
                        )
                    )
                }
                // RULE_FLAGS: every required flag, no forbidden one.
                if and(cfg, 0x8) {
                    let required := and(shr(16, cfg), 0xffff)
                    slow := or(slow, xor(and(shr(176, wt), required), required))
                    slow := or(slow, and(and(shr(176, wt), 0xffff), shr(32, cfg)))
                }
                if iszero(slow) {
                    // Balance checked above; the total supply bounds every balance below 2^128.
                    sstore(slotFrom, sub(af, amount))
                    sstore(slotTo, add(at, amount))
                    mstore(0x00, amount)
                    log3(0x00, 0x20, _TRANSFER_EVENT, from, to)
                    if returnTrue {
                        mstore(0x00, 1)
                        return(0x00, 0x20)
                    }
                    done := 1
                }
            }
        }
    }

    /// Every rule with its revert reason, checkpoints, lock-up bookkeeping and investor tracking.
    function _checkedTransfer(
        address from,
        address to,
        uint256 amount,
        uint256 cfg,
        uint256 wf,
        uint256 wt,
        uint256 af,
        uint256 at
    ) private {
        if (to == address(0)) revert ERC20InvalidReceiver(address(0));
        if (from == address(0)) revert ERC20InvalidSender(address(0));
        uint256 code = _transferRestriction(cfg, wf, wt, af, at, from, to, amount);
        if (code != 0) _revertRestriction(code, cfg, wt, from, to, amount);
        // A zero amount moves nothing: no account, count or bit changes, only the event.
        if (from != to && amount != 0) {
            uint256 eff = _effectiveRecordId(cfg);
            af = _checkpoint(from, af, eff);
            // An elapsed lock-up is cleared on the way, so later reads skip it.
            uint256 release = (af >> ACC_RELEASE_SHIFT) & MASK_40;
            if (release != 0 && release <= block.timestamp) af &= ~(ACC_RELEASE_MASK | ACC_LOCK_ALL);
            at = _prepareReceive(to, _checkpoint(to, at, eff));
            if (cfg & (uint256(RULE_COUNTRY) << CFG_RULES_SHIFT) != 0) at = _cacheCountry(cfg, wt, at);
            unchecked {
                // Sufficient balance checked above; the total supply bounds every balance below 2^128.
                af -= amount;
                at += amount;
            }
            _accounts[from] = af;
            _accounts[to] = at;
            if (cfg & CFG_TRACKING != 0) {
                uint256 updated = _trackMove(cfg, wf, wt, from, to, amount);
                if (updated != cfg) _config = updated;
            }
        }
        emit Transfer(from, to, amount);
    }

    function _needsRegistry(uint256 cfg) private pure returns (bool) {
        return cfg & ((uint256(REGISTRY_RULES) << CFG_RULES_SHIFT) | CFG_TRACKING) != 0;
    }

    function _verified(uint256 w) private view returns (bool) {
        return w & REG_ACTIVE != 0 && (w >> REG_FLAGS_SHIFT) & FLAG_KYC != 0
            && block.timestamp < (w >> REG_EXPIRY_SHIFT) & MASK_40;
    }

    function _transferRestriction(
        uint256 cfg,
        uint256 wf,
        uint256 wt,
        uint256 af,
        uint256 at,
        address from,
        address to,
        uint256 amount
    ) private view returns (uint256) {
        if (cfg & CFG_PAUSED != 0) return CODE_PAUSED;
        uint256 ruleBits = cfg >> CFG_RULES_SHIFT;
        if (ruleBits & RULE_VERIFIED != 0) {
            if (!_verified(wf)) return CODE_SENDER_NOT_VERIFIED;
            if (!_verified(wt)) return CODE_RECEIVER_NOT_VERIFIED;
        }
        uint256 code = _receiverRestriction(cfg, wt, at);
        if (code != 0) return code;
        if (af & ACC_FROZEN != 0) return CODE_SENDER_FROZEN;
        uint256 balance = af & MASK_128;
        if (amount > balance) return CODE_INSUFFICIENT_BALANCE;
        bool lockupOn = ruleBits & RULE_LOCKUP != 0;
        if (af & ACC_PARTIAL != 0 || (lockupOn && af & ACC_RELEASE_MASK != 0)) {
            code = _restrictedAmountCode(from, af, amount, lockupOn);
            if (code != 0) return code;
        }
        if (cfg & CFG_TRACKING != 0 && ruleBits & TRACKED_RULES != 0 && from != to) {
            return _investorLimitCode(cfg, wf, wt, af, at, from, to, amount);
        }
        return 0;
    }

    function _mintRestriction(uint256 cfg, uint256 wt, uint256 at, address to, uint256 amount)
        private
        view
        returns (uint256)
    {
        if (cfg & CFG_PAUSED != 0) return CODE_PAUSED;
        uint256 ruleBits = cfg >> CFG_RULES_SHIFT;
        if (ruleBits & RULE_VERIFIED != 0 && !_verified(wt)) return CODE_RECEIVER_NOT_VERIFIED;
        uint256 code = _receiverRestriction(cfg, wt, at);
        if (code != 0) return code;
        if (cfg & CFG_TRACKING != 0 && ruleBits & TRACKED_RULES != 0) {
            return _investorLimitCode(cfg, 0, wt, 0, at, address(0), to, amount);
        }
        return 0;
    }

    /// Rules about the receiver alone: country, investor flags, frozen wallet; with tracking on
    /// the receiver must be a registered wallet so holders are counted per investor.
    function _receiverRestriction(uint256 cfg, uint256 wt, uint256 at) private view returns (uint256) {
        uint256 ruleBits = cfg >> CFG_RULES_SHIFT;
        if (cfg & CFG_TRACKING != 0 && uint160(wt) == 0) return CODE_RECEIVER_NOT_VERIFIED;
        if (ruleBits & RULE_COUNTRY != 0) {
            uint256 country = (wt >> REG_COUNTRY_SHIFT) & 0xffff;
            uint256 cached = (at >> ACC_COUNTRY_SHIFT) & 0x3ff;
            uint256 cachedEpoch = (at >> ACC_EPOCH_SHIFT) & MASK_32;
            if (cached != country || cachedEpoch != (cfg >> CFG_EPOCH_SHIFT) & MASK_32) {
                if ((_countryBitmap[country >> 8] >> (country & 0xff)) & 1 == 0) return CODE_COUNTRY_NOT_ALLOWED;
            }
        }
        if (ruleBits & RULE_FLAGS != 0) {
            uint256 flags = (wt >> REG_FLAGS_SHIFT) & 0xffff;
            uint256 required = (cfg >> CFG_REQUIRED_SHIFT) & 0xffff;
            if (flags & required != required || flags & (cfg >> CFG_FORBIDDEN_SHIFT) & 0xffff != 0) {
                return CODE_FLAGS_NOT_ALLOWED;
            }
        }
        if (at & ACC_FROZEN != 0) return CODE_RECEIVER_FROZEN;
        return 0;
    }

    /// Frozen amount, then lock-up (Rule 144 / Reg CF / Reg S), against the sender's balance.
    function _restrictedAmountCode(address from, uint256 af, uint256 amount, bool lockupOn)
        private
        view
        returns (uint256)
    {
        (uint256 unfrozen, uint256 transferable) = _spendable(from, af, lockupOn);
        if (amount > unfrozen) return CODE_AMOUNT_FROZEN;
        if (amount > transferable) return CODE_TOKENS_LOCKED;
        return 0;
    }

    function _spendable(address account, uint256 a, bool lockupOn)
        private
        view
        returns (uint256 unfrozen, uint256 transferable)
    {
        uint256 balance = a & MASK_128;
        uint256 frozen = a & ACC_PARTIAL != 0 ? _restrictions[account] >> 128 : 0;
        unfrozen = balance > frozen ? balance - frozen : 0;
        uint256 release = (a >> ACC_RELEASE_SHIFT) & MASK_40;
        uint256 locked = lockupOn && release > block.timestamp ? _lockedAmount(account, a) : 0;
        transferable = unfrozen > locked ? unfrozen - locked : 0;
    }

    function _lockedAmount(address account, uint256 a) private view returns (uint256) {
        return a & ACC_LOCK_ALL != 0 ? a & MASK_128 : _restrictions[account] & MASK_128;
    }

    /// Investor caps. Totals are per investor (all wallets), so moves between wallets of the
    /// same investor never change them; an investor who sells out frees a place for the buyer.
    function _investorLimitCode(
        uint256 cfg,
        uint256 wf,
        uint256 wt,
        uint256 af,
        uint256 at,
        address from,
        address to,
        uint256 amount
    ) private view returns (uint256) {
        // Nobody's total changes: a zero amount, or a move between one investor's wallets.
        if (amount == 0 || (from != address(0) && uint160(wf) == uint160(wt))) return 0;
        uint256 lim = _limits;
        {
            uint256 before = _investorTotal(address(uint160(wt)), to, at);
            uint256 ruleBits = cfg >> CFG_RULES_SHIFT;
            if (ruleBits & RULE_MAX_BALANCE != 0 && before + amount > lim & MASK_128) return CODE_MAX_BALANCE;
            if (before != 0 || ruleBits & (RULE_MAX_INVESTORS | RULE_MAX_NON_ACCREDITED) == 0) return 0;
        }
        // The receiver's investor enters the register; does the sender's investor leave it?
        (uint256 leaving, uint256 leavingNonAccredited) = _leaving(wf, af, from, amount);
        return _entryCode(cfg, lim, (wt >> REG_FLAGS_SHIFT) & FLAG_ACCREDITED != 0, leaving, leavingNonAccredited);
    }

    function _leaving(uint256 wf, uint256 af, address from, uint256 amount)
        private
        view
        returns (uint256 leaving, uint256 leavingNonAccredited)
    {
        address keyFrom = address(uint160(wf));
        if (from == address(0) || keyFrom == address(0)) return (0, 0);
        if (_investorTotal(keyFrom, from, af) != amount) return (0, 0);
        uint256 k = keyFrom == from ? af : _accounts[keyFrom];
        return (1, k & ACC_COUNTED_NON_ACCREDITED != 0 ? 1 : 0);
    }

    function _entryCode(uint256 cfg, uint256 lim, bool accredited, uint256 leaving, uint256 leavingNonAccredited)
        private
        pure
        returns (uint256)
    {
        uint256 ruleBits = cfg >> CFG_RULES_SHIFT;
        uint256 count = (cfg >> CFG_INVESTORS_SHIFT) & MASK_32;
        if (ruleBits & RULE_MAX_INVESTORS != 0 && count + 1 - leaving > (lim >> LIM_MAX_INVESTORS_SHIFT) & MASK_32) {
            return CODE_MAX_INVESTORS;
        }
        if (ruleBits & RULE_MAX_NON_ACCREDITED != 0 && !accredited) {
            uint256 nonAccredited = (cfg >> CFG_NON_ACCREDITED_SHIFT) & MASK_32;
            if (nonAccredited + 1 - leavingNonAccredited > (lim >> LIM_MAX_NON_ACCREDITED_SHIFT) & MASK_32) {
                return CODE_MAX_NON_ACCREDITED;
            }
        }
        return 0;
    }

    /// Tokens the investor keyed `key` holds, given one of its wallets and that wallet's word.
    function _investorTotal(address key, address wallet_, uint256 w) private view returns (uint256) {
        uint256 k = key == wallet_ ? w : _accounts[key];
        return (k & MASK_128) + (k & ACC_HAS_EXTRA != 0 ? _extraBalance[key] : 0);
    }

    function _revertRestriction(
        uint256 code,
        uint256 cfg,
        uint256 wt,
        address from,
        address to,
        uint256 amount
    ) private view {
        if (code == CODE_PAUSED) revert TokenPaused();
        if (code == CODE_SENDER_NOT_VERIFIED) revert SenderNotVerified(from);
        if (code == CODE_RECEIVER_NOT_VERIFIED) revert ReceiverNotVerified(to);
        if (code == CODE_COUNTRY_NOT_ALLOWED) revert CountryNotAllowed(to, uint16(wt >> REG_COUNTRY_SHIFT));
        if (code == CODE_FLAGS_NOT_ALLOWED) {
            revert InvestorFlagsNotAllowed(
                to, uint16(wt >> REG_FLAGS_SHIFT), uint16(cfg >> CFG_REQUIRED_SHIFT), uint16(cfg >> CFG_FORBIDDEN_SHIFT)
            );
        }
        if (code == CODE_SENDER_FROZEN) revert SenderFrozen(from);
        if (code == CODE_RECEIVER_FROZEN) revert ReceiverFrozen(to);
        uint256 af = _accounts[from];
        if (code == CODE_INSUFFICIENT_BALANCE) revert ERC20InsufficientBalance(from, af & MASK_128, amount);
        (uint256 unfrozen, uint256 transferable) =
            _spendable(from, af, (cfg >> CFG_RULES_SHIFT) & RULE_LOCKUP != 0);
        if (code == CODE_AMOUNT_FROZEN) revert AmountFrozen(from, unfrozen, amount);
        if (code == CODE_TOKENS_LOCKED) revert TokensLocked(from, transferable, amount, uint40(af >> ACC_RELEASE_SHIFT));
        uint256 lim = _limits;
        if (code == CODE_MAX_INVESTORS) revert MaxInvestorsReached(uint32(lim >> LIM_MAX_INVESTORS_SHIFT));
        if (code == CODE_MAX_NON_ACCREDITED) revert MaxNonAccreditedReached(uint32(lim >> LIM_MAX_NON_ACCREDITED_SHIFT));
        revert MaxBalanceExceeded(to, _investorTotal(address(uint160(wt)), to, _accounts[to]), lim & MASK_128);
    }

    /// Before tokens arrive: clear an elapsed lock-up, and if the whole balance was locked, write
    /// the locked amount out so the arriving (unlocked) tokens stay transferable.
    function _prepareReceive(address to, uint256 at) private returns (uint256) {
        uint256 release = (at >> ACC_RELEASE_SHIFT) & MASK_40;
        if (release == 0) return at;
        if (release <= block.timestamp) return at & ~(ACC_RELEASE_MASK | ACC_LOCK_ALL);
        if (at & ACC_LOCK_ALL != 0) {
            _restrictions[to] = (_restrictions[to] & ~MASK_128) | (at & MASK_128);
            at &= ~ACC_LOCK_ALL;
        }
        return at;
    }

    function _cacheCountry(uint256 cfg, uint256 wt, uint256 at) private pure returns (uint256) {
        uint256 country = (wt >> REG_COUNTRY_SHIFT) & 0x3ff;
        uint256 epoch = (cfg >> CFG_EPOCH_SHIFT) & MASK_32;
        return (at & ~ACC_CACHE_MASK) | (country << ACC_COUNTRY_SHIFT) | (epoch << ACC_EPOCH_SHIFT);
    }

    /// A forced move may take frozen and locked tokens: shrink both to what remains.
    function _releaseForced(address from, uint256 af, uint256 amount) private returns (uint256) {
        uint256 remaining = (af & MASK_128) - amount;
        uint256 release = (af >> ACC_RELEASE_SHIFT) & MASK_40;
        if (release != 0 && release <= block.timestamp) {
            af &= ~(ACC_RELEASE_MASK | ACC_LOCK_ALL);
            release = 0;
        }
        if (af & ACC_PARTIAL == 0 && (release == 0 || af & ACC_LOCK_ALL != 0)) return af;
        uint256 r = _restrictions[from];
        uint256 frozen = af & ACC_PARTIAL != 0 ? r >> 128 : 0;
        uint256 locked = af & ACC_LOCK_ALL != 0 || release == 0 ? 0 : r & MASK_128;
        if (frozen > remaining) {
            emit TokensUnfrozen(from, frozen - remaining);
            frozen = remaining;
            if (frozen == 0) af &= ~ACC_PARTIAL;
        }
        if (locked > remaining) locked = remaining;
        _restrictions[from] = (frozen << 128) | locked;
        return af;
    }

    function _forcedMove(address from, address to, uint256 amount) private {
        uint256 cfg = _config;
        (uint256 wf, uint256 wt) = _registry.packedPair_anwI(from, to);
        if (wt & REG_ACTIVE == 0) revert ReceiverNotRegistered(to);
        uint256 af = _accounts[from];
        uint256 balance = af & MASK_128;
        if (amount > balance) revert ERC20InsufficientBalance(from, balance, amount);
        if (from != to && amount != 0) {
            uint256 eff = _effectiveRecordId(cfg);
            af = _releaseForced(from, _checkpoint(from, af, eff), amount);
            uint256 at = _prepareReceive(to, _checkpoint(to, _accounts[to], eff));
            _accounts[from] = af - amount;
            _accounts[to] = at + amount;
            if (cfg & CFG_TRACKING != 0) {
                uint256 updated = _trackMove(cfg, wf, wt, from, to, amount);
                if (updated != cfg) _config = updated;
            }
        }
    }

    // ================================================================== internals: mint and burn

    function _mintOne(uint256 cfg, uint256 lim, uint256 wt, address to, uint256 amount) private returns (uint256) {
        if (to == address(0)) revert ERC20InvalidReceiver(address(0));
        uint256 at = _accounts[to];
        uint256 code = _mintRestriction(cfg, wt, at, to, amount);
        if (code != 0) _revertRestriction(code, cfg, wt, address(0), to, amount);
        // A zero amount issues nothing: no lock-up, count or bit changes, only the event.
        if (amount != 0) {
            at = _checkpoint(to, at, _effectiveRecordId(cfg));
            if (cfg & (uint256(RULE_COUNTRY) << CFG_RULES_SHIFT) != 0) at = _cacheCountry(cfg, wt, at);
            uint256 period = (lim >> LIM_PERIOD_SHIFT) & MASK_40;
            if (cfg & (uint256(RULE_LOCKUP) << CFG_RULES_SHIFT) != 0 && period != 0) {
                at = _lockMinted(to, at, amount, block.timestamp + period);
            } else {
                at = _prepareReceive(to, at);
            }
            // Checked here so the packed fields above the balance are never touched.
            if (amount > MASK_128 - (at & MASK_128)) revert SupplyOverflow();
            at += amount;
            _accounts[to] = at;
            if (cfg & CFG_TRACKING != 0) cfg = _trackCredit(cfg, wt, to, at, amount);
        }
        emit Transfer(address(0), to, amount);
        return cfg;
    }

    /// Lock-up on issuance: the later release date wins, so no minted token leaves before its own.
    function _lockMinted(address to, uint256 at, uint256 amount, uint256 newRelease) private returns (uint256) {
        uint256 release = (at >> ACC_RELEASE_SHIFT) & MASK_40;
        bool active = release > block.timestamp;
        uint256 balance = at & MASK_128;
        uint256 locked;
        if (active && at & ACC_LOCK_ALL != 0) {
            locked = balance + amount;
        } else if (!active && balance == 0) {
            // Whole balance locked: no second slot to write for a new holder.
            at |= ACC_LOCK_ALL;
            locked = amount;
        } else {
            uint256 r = _restrictions[to];
            locked = (active ? r & MASK_128 : 0) + amount;
            _restrictions[to] = (r & ~MASK_128) | locked;
            at &= ~ACC_LOCK_ALL;
        }
        if (newRelease < release && active) newRelease = release;
        at = (at & ~ACC_RELEASE_MASK) | (newRelease << ACC_RELEASE_SHIFT);
        emit LockupUpdated(to, locked, uint40(newRelease));
        return at;
    }

    function _burnOne(uint256 cfg, address from, uint256 amount) private returns (uint256) {
        uint256 af = _accounts[from];
        uint256 balance = af & MASK_128;
        if (amount > balance) revert ERC20InsufficientBalance(from, balance, amount);
        if (amount != 0) {
            af = _releaseForced(from, _checkpoint(from, af, _effectiveRecordId(cfg)), amount);
            af -= amount;
            _accounts[from] = af;
            if (cfg & CFG_TRACKING != 0) {
                (uint256 wf,) = _registry.packedPair_anwI(from, from);
                cfg = _trackDebit(cfg, wf, from, af, amount);
            }
        }
        emit Transfer(from, address(0), amount);
        return cfg;
    }

    function _addSupply(uint256 cfg, uint256 amount) private {
        uint256 s = _checkpoint(address(0), _supply, _effectiveRecordId(cfg));
        if ((s & MASK_128) + amount > MASK_128) revert SupplyOverflow();
        _supply = s + amount;
    }

    function _subSupply(uint256 amount) private {
        _supply = _checkpoint(address(0), _supply, _effectiveRecordId(_config)) - amount;
    }

    // ================================================================== internals: investor tracking

    /// Keeps per-investor totals and holder counts. The key wallet's own balance is its account
    /// balance; balances in the investor's other wallets are summed in _extraBalance[key]. Only
    /// transitions (an investor's total to or from zero, an extra balance to or from zero) write.
    function _trackMove(
        uint256 cfg,
        uint256 wf,
        uint256 wt,
        address from,
        address to,
        uint256 amount
    ) private returns (uint256) {
        address keyFrom = address(uint160(wf));
        address keyTo = address(uint160(wt));
        if (keyFrom == keyTo) {
            // Same investor: its total and the counts are unchanged; only the split moves.
            if (keyTo == address(0) || (from != keyFrom && to != keyTo)) return cfg;
            uint256 e = _extraBalance[keyTo];
            uint256 updated = from == keyFrom ? e + amount : e - amount;
            _extraBalance[keyTo] = updated;
            if ((e == 0) != (updated == 0)) _accounts[keyTo] ^= ACC_HAS_EXTRA;
            return cfg;
        }
        // Balances are already written; the words are read back warm.
        cfg = _trackCredit(cfg, wt, to, _accounts[to], amount);
        return _trackDebit(cfg, wf, from, _accounts[from], amount);
    }

    /// Recovery stays within one investor: only the split between its wallets changes.
    function _trackRecovery(uint256 cfg, address lostWallet, address newWallet, uint256 amount) private {
        (uint256 wl, uint256 wn) = _registry.packedPair_anwI(lostWallet, newWallet);
        _trackMove(cfg, wl, wn, lostWallet, newWallet, amount);
    }

    function _trackCredit(uint256 cfg, uint256 wt, address to, uint256 atNew, uint256 amount)
        private
        returns (uint256)
    {
        address key = address(uint160(wt));
        bool entered;
        if (key == address(0)) return cfg;
        if (key == to) {
            entered = (atNew & MASK_128) == amount && atNew & ACC_HAS_EXTRA == 0;
        } else {
            uint256 e = _extraBalance[key];
            _extraBalance[key] = e + amount;
            if (e == 0) {
                uint256 k = _accounts[key];
                _accounts[key] = k | ACC_HAS_EXTRA;
                entered = k & MASK_128 == 0;
            }
        }
        if (!entered) return cfg;
        // The non-accredited count never exceeds this one, so neither can overflow.
        if ((cfg >> CFG_INVESTORS_SHIFT) & MASK_32 == MASK_32) revert InvestorCountExhausted();
        cfg += uint256(1) << CFG_INVESTORS_SHIFT;
        // Counted by the accreditation the investor has when it becomes a holder.
        if ((wt >> REG_FLAGS_SHIFT) & FLAG_ACCREDITED == 0) {
            cfg += uint256(1) << CFG_NON_ACCREDITED_SHIFT;
            _accounts[key] |= ACC_COUNTED_NON_ACCREDITED;
        }
        return cfg;
    }

    function _trackDebit(uint256 cfg, uint256 wf, address from, uint256 afNew, uint256 amount)
        private
        returns (uint256)
    {
        address key = address(uint160(wf));
        if (key == address(0)) return cfg;
        uint256 k;
        if (key == from) {
            if (afNew & MASK_128 != 0 || afNew & ACC_HAS_EXTRA != 0) return cfg;
            k = afNew;
        } else {
            uint256 e = _extraBalance[key] - amount;
            _extraBalance[key] = e;
            if (e != 0) return cfg;
            k = _accounts[key] & ~ACC_HAS_EXTRA;
            _accounts[key] = k;
            if (k & MASK_128 != 0) return cfg;
        }
        // The investor no longer holds any token.
        cfg -= uint256(1) << CFG_INVESTORS_SHIFT;
        if (k & ACC_COUNTED_NON_ACCREDITED != 0) {
            cfg -= uint256(1) << CFG_NON_ACCREDITED_SHIFT;
            _accounts[key] = k & ~ACC_COUNTED_NON_ACCREDITED;
        }
        return cfg;
    }

    // ================================================================== internals: record dates

    /// Number of record dates already passed (strictly before this block's timestamp).
    function _effectiveRecordId(uint256 cfg) private view returns (uint256) {
        uint256 count = (cfg >> CFG_RECORDS_SHIFT) & MASK_32;
        if (count == 0) return 0;
        return ((cfg >> CFG_LAST_RECORD_SHIFT) & MASK_40) < block.timestamp ? count : count - 1;
    }

    /// Lazily stores the value a word had at the record dates passed since its last write
    /// (ERC20Snapshot style), so writes pay nothing while no new record date has passed. A zero
    /// value is not pushed but kept as a pending bit until a non-zero value must be stored.
    /// `account` address(0) stands for the total supply (it can never hold a balance).
    function _checkpoint(address account, uint256 word, uint256 eff) private returns (uint256) {
        uint256 mark = (word >> ACC_MARK_SHIFT) & MASK_32;
        if (mark >= eff) return word;
        Checkpoint[] storage list = account == address(0) ? _supplyCheckpoints : _balanceCheckpoints[account];
        uint256 value = word & MASK_128;
        if (value == 0) {
            word |= ACC_ZERO_PENDING;
        } else {
            if (word & ACC_ZERO_PENDING != 0) list.push(Checkpoint(uint32(mark), 0));
            list.push(Checkpoint(uint32(eff), uint224(value)));
            word &= ~ACC_ZERO_PENDING;
        }
        return (word & ~ACC_MARK_MASK) | (eff << ACC_MARK_SHIFT);
    }

    function _valueAt(Checkpoint[] storage list, uint256 word, uint256 recordId) private view returns (uint256) {
        // First checkpoint whose record id is >= recordId holds the value at recordId.
        uint256 low;
        uint256 high = list.length;
        while (low < high) {
            uint256 mid = (low + high) / 2;
            if (list[mid].recordId < recordId) low = mid + 1;
            else high = mid;
        }
        if (low < list.length) return list[low].value;
        if (word & ACC_ZERO_PENDING != 0 && recordId <= (word >> ACC_MARK_SHIFT) & MASK_32) return 0;
        return word & MASK_128;
    }

    function _requirePassed(uint256 recordId) private view {
        if (recordId == 0 || recordId > _effectiveRecordId(_config)) revert RecordDateNotPassed(recordId);
    }
}
