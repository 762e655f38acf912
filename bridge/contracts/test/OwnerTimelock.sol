// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// The vault owner an operator should deploy: OpenZeppelin's timelock, so that unpausing,
/// changing the relayer set or the caps is announced `minDelay` before it happens and no single
/// key decides alone (its proposers and executors can be a multisig). Compiled here so the
/// vault tests run the escape hatch against the real contract.
contract OwnerTimelock is TimelockController {
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors, address admin)
        TimelockController(minDelay, proposers, executors, admin)
    {}
}
