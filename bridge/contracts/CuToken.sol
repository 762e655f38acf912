// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title CuToken
/// @notice The CU ERC20 for development and tests: 18 decimals, the whole supply minted to the
/// deployer. The production token is deployed separately; the bridge only needs an ERC20.
contract CuToken is ERC20 {
    constructor(uint256 supply) ERC20("CuToken", "CU") {
        _mint(msg.sender, supply);
    }
}
