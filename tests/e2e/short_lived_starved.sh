#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Short-lived processes with the collector starved: short_lived.sh with the argument "starved"
# (see there); the same workload and targets.
exec bash "$(dirname "$0")/short_lived.sh" starved
