# swarmbootd as a container. DHCP/TFTP need the provisioning network itself, so run it with host networking:
#   podman build -t swarmboot . && podman run --net=host --cap-add=NET_ADMIN,NET_RAW \
#     -v /var/lib/swarmboot:/var/lib/swarmboot -e SWARMBOOT_API_TOKEN=… swarmboot \
#     --interface eno1 --dhcp-mode proxy
FROM debian:bookworm AS build
COPY . /src
RUN /src/scripts/deps.sh \
 && cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
 && cmake --build /build --target swarmbootd swarmboot swarmboot-agent initramfs \
 && mkdir -p /out/bin /out/boot \
 && cp /build/server/swarmbootd /build/server/swarmboot /build/fuse-agent/swarmboot-agent /out/bin/ \
 && cp /build/initramfs/vmlinuz /build/initramfs/initramfs.img /out/boot/

FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libtorrent-rasterbar2.0 libboost-program-options1.74.0 libsqlite3-0 libfmt9 libfuse3-3 \
      dnsmasq-base ipxe squashfs-tools ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/bin/ /usr/local/bin/
COPY --from=build /out/boot/ /usr/local/share/swarmboot/boot/
VOLUME /var/lib/swarmboot
EXPOSE 8080/tcp 6881/tcp 67/udp 69/udp 4011/udp
ENTRYPOINT ["swarmbootd", "--data-dir", "/var/lib/swarmboot", "--boot-dir", "/usr/local/share/swarmboot/boot", "--listen", "0.0.0.0:8080"]
