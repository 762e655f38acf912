// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// Test-only attacker: a contract that emits the vault's `Deposited` event without moving any
/// token. Relayers must ignore it (they read logs of the configured vault only, and re-check
/// the receipt for the token's Transfer into the vault).
contract CloneVault {
    event Deposited(uint64 indexed nonce, address indexed from, bytes32 recipient, uint256 amount);

    function fakeDeposit(uint64 nonce, bytes32 recipient, uint256 amount) external {
        emit Deposited(nonce, msg.sender, recipient, amount);
    }
}
