#!/usr/bin/env bash
# nexwg <-> nexwg in two namespaces: the data-path suite of datapath.sh
# (wrong keys, preshared key, ping both ways, allowed-IPs source check,
# full-size packets, IPv6 inside, iperf3 both ways, forced rekeys from both
# sides, an IPv6 endpoint, roaming, SIGTERM).
#
# KIND=wireguard-go runs the same suite with wireguard-go standing in for
# nexwg (to prove the test itself).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/datapath.sh"

KIND=${KIND:-nexwg}
datapath_suite "$KIND" "$KIND" 1
