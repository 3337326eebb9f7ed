#!/bin/sh
# dnsmasq's --dhcp-script, written by swarmbootd: reports lease changes and finished TFTP transfers to
# swarmbootd as host events (stage "dhcp"). Machines swarmbootd does not know yet are registered when they
# first ask for /boot.ipxe, so a 404 here is normal for a machine's very first DHCP exchange.
# dnsmasq runs this as root, one call at a time; keep it short and never block for long.
report_url='http://127.0.0.1:8080'
token_file='/var/lib/swarmboot/pxe/token'
lease_file='/var/lib/swarmboot/pxe/dnsmasq.leases'

action="$1"
case "$action" in
  add|old)
    mac="$2"
    message="lease $action $3 vendor-class ${DNSMASQ_VENDOR_CLASS:-none} user-class ${DNSMASQ_USER_CLASS0:-none} interface ${DNSMASQ_INTERFACE:-?}"
    ;;
  tftp)
    # arguments: tftp SIZE IP FILE; proxy mode has no leases, so the MAC may stay unknown.
    mac=$(awk -v ip="$3" '$3 == ip { print $2; exit }' "$lease_file" 2>/dev/null)
    [ -n "$mac" ] || exit 0
    message="tftp sent ${4##*/} ($2 bytes) to $3"
    ;;
  *)
    exit 0
    ;;
esac
case "$mac" in
  ??:??:??:??:??:??) ;;
  *) exit 0 ;;
esac
# The message goes into JSON: keep printable characters other than quotes and backslashes.
message=$(printf '%s' "$message" | tr -d '"\\' | tr -c '[:print:]' ' ')
token=$(head -n 1 "$token_file" 2>/dev/null)
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' -X POST \
  -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  --data "{\"stage\":\"dhcp\",\"message\":\"$message\"}" "$report_url/api/v1/hosts/$mac/events")
case "$code" in
  200) ;;
  404) echo "swarmboot: $mac is not registered yet ($action)" ;;
  *) echo "swarmboot: could not report $action for $mac to $report_url: HTTP $code" ;;
esac
exit 0
