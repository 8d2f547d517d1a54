# Shared by the dev/ scripts: find JDK 25 and install missing Debian packages.
# shellcheck shell=bash

# Exports JAVA_HOME pointing at a JDK 25, or exits with a message saying how to get one.
use_jdk25() {
  local candidate
  for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-25-jdk /usr/lib/jvm/java-25-openjdk-amd64 /usr/lib/jvm/*25*; do
    if [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] \
        && "$candidate/bin/java" -version 2>&1 | grep -q 'version "25'; then
      export JAVA_HOME="$candidate"
      export PATH="$JAVA_HOME/bin:$PATH"
      # Maven's own Guice uses sun.misc.Unsafe; JDK 25 warns about it on every run. JDK 17 rejects the flag,
      # so it is set here, for JDK 25 only, not in .mvn/jvm.config.
      export MAVEN_OPTS="--sun-misc-unsafe-memory-access=allow ${MAVEN_OPTS:-}"
      return 0
    fi
  done
  echo "loadshare needs JDK 25, and none was found (looked at \$JAVA_HOME and /usr/lib/jvm)." >&2
  echo "Install Temurin 25 (apt package temurin-25-jdk) or set JAVA_HOME to a JDK 25." >&2
  exit 1
}

# Installs the Debian packages given as arguments that are not installed yet. Needs root when any is missing.
ensure_packages() {
  local missing=() package
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing packages: ${missing[*]}; run as root (sudo) so they can be installed" >&2
    exit 1
  fi
  echo "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Debian packages the test suite uses: namespaces and veth (iproute2), captures (libpcap, tcpdump), a BGP daemon
# for the scale-out tests (bird2), and clang with the BPF headers for the fast path's C references (BpfReferenceTest
# only: loadshare itself never compiles anything).
TEST_PACKAGES=(iproute2 libpcap0.8 tcpdump procps curl util-linux ethtool bird2 nftables clang libbpf-dev linux-libc-dev)

# The benchmarks' session-sync peer (their -sync configurations): a veth s0 (198.51.100.241/30, the dispatcher's
# namespace) - s1 (198.51.100.242/30, the peer's), and a key in $2. Usage: sync_peer_link DISPATCHER_NS PEER_NS KEY
sync_peer_link() {
  ip link add s0 netns "$1" type veth peer name s1 netns "$2"
  ip -n "$1" link set s0 up; ip -n "$2" link set s1 up
  ip -n "$1" addr add 198.51.100.241/30 dev s0
  ip -n "$2" addr add 198.51.100.242/30 dev s1
  head -c 32 /dev/urandom > "$3"; chmod 600 "$3"
}

# The peer itself, on core 0 in the foreground (start it with &): a sink that challenges the dispatcher's link as a
# dispatcher would and discards what arrives, so that the dispatcher sends everything a real tier would while the
# core it shares pays almost nothing (a second JVM there would slow the load generator, not the dispatcher).
# Usage: sync_sink PEER_NS
sync_sink() {
  exec ip netns exec "$1" taskset -c 0 python3 -c '
import os, socket
server = socket.create_server(("198.51.100.242", 7680))
while True:
    link, _ = server.accept()
    link.sendall(bytes([0, 0, 0, 20, 1, 0, 0, 0]) + os.urandom(16))
    while link.recv(1 << 16):
        pass
    link.close()
'
}
