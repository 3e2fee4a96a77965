#!/usr/bin/env node
// Compiles the Solidity sources of tokens/contracts/ with the pinned solc-js and writes one
// artifact per contract to tokens/contracts/build/. `--check` writes nothing and exits 1 when
// the committed artifacts differ from what the sources compile to.
'use strict';

const fs = require('fs');
const path = require('path');
const solc = require('solc');

const CONTRACTS_DIR = __dirname;
const ROOT = path.resolve(CONTRACTS_DIR, '..', '..');
const BUILD_DIR = path.join(CONTRACTS_DIR, 'build');
const SOURCE_PREFIX = 'tokens/contracts/';
// Pinned so the bytecode (and its gas costs) never depends on the installed compiler's default.
const SETTINGS = {
  evmVersion: 'cancun',
  // Highest runs that keeps SecurityToken under the 24,576-byte code size limit (EIP-170).
  optimizer: { enabled: true, runs: 4000 },
  // Legacy pipeline: its dispatcher binary-searches selectors, while the IR one compares them
  // one by one (about 1,000 gas before reaching transfer()).
  viaIR: false,
  metadata: { bytecodeHash: 'ipfs' },
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
};

function listSources(dir) {
  const found = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== 'build') found.push(...listSources(full));
    else if (entry.isFile() && entry.name.endsWith('.sol')) found.push(full);
  }
  return found;
}

function findImport(importPath) {
  // Only OpenZeppelin (from node_modules) and our own sources may be imported.
  const candidates = importPath.startsWith('@openzeppelin/')
    ? [path.join(ROOT, 'node_modules', importPath)]
    : [path.join(ROOT, importPath)];
  for (const file of candidates) {
    if (fs.existsSync(file)) return { contents: fs.readFileSync(file, 'utf8') };
  }
  return { error: `File not found: ${importPath}` };
}

function compile() {
  const sources = {};
  for (const file of listSources(CONTRACTS_DIR)) {
    const unit = SOURCE_PREFIX + path.relative(CONTRACTS_DIR, file).split(path.sep).join('/');
    sources[unit] = { content: fs.readFileSync(file, 'utf8') };
  }
  const input = { language: 'Solidity', sources, settings: SETTINGS };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImport }));
  const errors = (output.errors || []).filter((e) => e.severity === 'error');
  for (const e of output.errors || []) process.stderr.write(e.formattedMessage + '\n');
  if (errors.length) process.exit(2);

  const artifacts = {};
  for (const unit of Object.keys(sources)) {
    for (const [contractName, out] of Object.entries(output.contracts[unit] || {})) {
      if (!out.evm.bytecode.object) continue; // interfaces and abstract contracts
      artifacts[contractName + '.json'] = JSON.stringify({
        contractName,
        sourceName: unit,
        compiler: { name: 'solc', version: solc.version(), settings: SETTINGS },
        abi: out.abi,
        bytecode: '0x' + out.evm.bytecode.object,
        deployedBytecode: '0x' + out.evm.deployedBytecode.object,
      }, null, 2) + '\n';
    }
  }
  return artifacts;
}

function main() {
  const check = process.argv.includes('--check');
  const artifacts = compile();
  const existing = fs.existsSync(BUILD_DIR) ? fs.readdirSync(BUILD_DIR).filter((f) => f.endsWith('.json')) : [];
  if (check) {
    const problems = [];
    for (const [file, text] of Object.entries(artifacts)) {
      const target = path.join(BUILD_DIR, file);
      if (!fs.existsSync(target)) problems.push(`missing ${file}`);
      else if (fs.readFileSync(target, 'utf8') !== text) problems.push(`stale ${file}`);
    }
    for (const file of existing) if (!(file in artifacts)) problems.push(`unexpected ${file}`);
    if (problems.length) {
      process.stderr.write('Artifacts differ from sources (run the compile target):\n  ' + problems.join('\n  ') + '\n');
      process.exit(1);
    }
    process.stdout.write(`${Object.keys(artifacts).length} artifacts match the sources\n`);
    return;
  }
  fs.mkdirSync(BUILD_DIR, { recursive: true });
  for (const file of existing) if (!(file in artifacts)) fs.unlinkSync(path.join(BUILD_DIR, file));
  for (const [file, text] of Object.entries(artifacts)) fs.writeFileSync(path.join(BUILD_DIR, file), text);
  process.stdout.write(`wrote ${Object.keys(artifacts).length} artifacts to ${path.relative(ROOT, BUILD_DIR)}\n`);
}

main();
