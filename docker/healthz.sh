#!/bin/bash
# The container's health check: GET /healthz on the appliance's port inside the container
# (bash's /dev/tcp; the image has no curl). Exit 0 when it answers 200.
exec 3<>"/dev/tcp/127.0.0.1/${1:-8080}" || exit 1
printf 'GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
read -r -t 5 _ status _ <&3 && [ "$status" = 200 ]
