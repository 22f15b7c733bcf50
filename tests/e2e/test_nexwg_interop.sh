#!/usr/bin/env bash
# nexwg <-> wireguard-go (Debian's), both directions of initiation: the
# data-path suite of datapath.sh with nexwg as the initiator and wireguard-go
# as the responder, then the other way round. (Each run also has a rekey
# initiated by the responder.)
#
# KIND=wireguard-go runs it with wireguard-go standing in for nexwg.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/datapath.sh"

KIND=${KIND:-nexwg}
datapath_suite "$KIND" wireguard-go 1
datapath_suite wireguard-go "$KIND" 2
