#!/bin/sh
# Writes one configuration file per environment and slot,
# OUTDIR/ENV-SLOT.yaml, from TEMPLATE. The environments and their
# well-known ports are read from `rarangid --help`, which prints the port
# table the daemon itself uses, so the files cannot drift from it.
# Usage: instance-configs.sh RARANGID TEMPLATE OUTDIR
set -eu
rarangid=$1 template=$2 outdir=$3

table=$("$rarangid" --help | sed -n 's|^  \([a-z][a-z]*\)  *\([0-9][0-9]*\) / \([0-9][0-9]*\)$|\1 \2 \3|p')
if [ -z "$table" ]; then
    echo "instance-configs.sh: no 'Well-known ports' table in '$rarangid --help'" >&2
    exit 1
fi
mkdir -p "$outdir"
echo "$table" | while read -r env port_a port_b; do
    for slot in a b; do
        if [ "$slot" = a ]; then port=$port_a; else port=$port_b; fi
        sed -e "s/@ENV@/$env/g" -e "s/@SLOT@/$slot/g" -e "s/@PORT@/$port/g" \
            "$template" > "$outdir/$env-$slot.yaml"
        chmod 0640 "$outdir/$env-$slot.yaml"  # root:rarangi, set by postinst
    done
done
