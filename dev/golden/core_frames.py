#!/usr/bin/python3
"""Golden frames for core's unit tests, made with scapy (Debian python3-scapy 2.5).

Run: /usr/bin/python3 dev/golden/core_frames.py
Prints one `NAME = "hex"` line per frame; the tests paste them verbatim, so any change here must be re-pasted.
Addresses come only from the documentation ranges (RFC 5737).
"""
from scapy.all import Ether, Dot1Q, IP, IPOption_NOP, IPOption_RR, TCP, UDP, ICMP, ARP, Raw, raw

CLIENT_MAC = "02:00:00:00:00:01"
DISPATCHER_MAC = "02:00:00:00:00:fe"
BACKEND_MAC = "02:00:00:00:00:0b"
CLIENT = "203.0.113.5"
VIP = "192.0.2.10"
BACKEND = "192.0.2.21"

frames = {
    # SYN from the client to the VIP, with an MSS option.
    "TCP_SYN": Ether(src=CLIENT_MAC, dst=DISPATCHER_MAC) / IP(src=CLIENT, dst=VIP, id=1, ttl=64)
        / TCP(sport=40000, dport=80, seq=1000, flags="S", window=64240, options=[("MSS", 1460)]),
    # The same SYN after LSMAC's rewrite: destination MAC is the backend's, source MAC the dispatcher's.
    "TCP_SYN_TO_BACKEND_MAC": Ether(src=DISPATCHER_MAC, dst=BACKEND_MAC) / IP(src=CLIENT, dst=VIP, id=1, ttl=64)
        / TCP(sport=40000, dport=80, seq=1000, flags="S", window=64240, options=[("MSS", 1460)]),
    # Data with PSH+ACK, carrying an IPv4 record-route option (IHL 9) to exercise options.
    "TCP_DATA_IP_OPTIONS": Ether(src=CLIENT_MAC, dst=DISPATCHER_MAC)
        / IP(src=CLIENT, dst=VIP, id=2, ttl=64, options=[IPOption_NOP(), IPOption_RR(routers=["198.51.100.1", "198.51.100.2"])])
        / TCP(sport=40000, dport=80, seq=1001, ack=5001, flags="PA") / Raw(b"GET / HTTP/1.0\r\n\r\n"),
    # An 802.1Q-tagged (VID 100, PCP 3) FIN+ACK.
    "TCP_FIN_VLAN": Ether(src=CLIENT_MAC, dst=DISPATCHER_MAC) / Dot1Q(vlan=100, prio=3)
        / IP(src=CLIENT, dst=VIP, id=3, ttl=64) / TCP(sport=40000, dport=80, seq=1019, ack=5001, flags="FA"),
    # A UDP datagram to the VIP.
    "UDP_DNS": Ether(src=CLIENT_MAC, dst=DISPATCHER_MAC) / IP(src=CLIENT, dst=VIP, id=4, ttl=64)
        / UDP(sport=53000, dport=53) / Raw(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"),
    # A router's "fragmentation needed" (MTU 1400) about a reply VIP:80 -> client, sent to the VIP.
    "ICMP_FRAG_NEEDED": Ether(src=CLIENT_MAC, dst=DISPATCHER_MAC) / IP(src="198.51.100.1", dst=VIP, id=5, ttl=64)
        / ICMP(type=3, code=4, nexthopmtu=1400)
        / IP(src=VIP, dst=CLIENT, id=77, ttl=63, flags="DF", len=1500)
        / TCP(sport=80, dport=40000, seq=5001, ack=1019, flags="A"),
    # An echo request to the VIP.
    "ICMP_ECHO": Ether(src=CLIENT_MAC, dst=DISPATCHER_MAC) / IP(src=CLIENT, dst=VIP, id=6, ttl=64)
        / ICMP(type=8, id=1, seq=1) / Raw(b"ping"),
    # The dispatcher's broadcast ARP request for the VIP (paper section 3.1, backend discovery).
    "ARP_WHO_HAS_VIP": Ether(src=DISPATCHER_MAC, dst="ff:ff:ff:ff:ff:ff")
        / ARP(op=1, hwsrc=DISPATCHER_MAC, psrc="192.0.2.1", hwdst="00:00:00:00:00:00", pdst=VIP),
    # A backend's ARP reply for the VIP.
    "ARP_REPLY_VIP": Ether(src=BACKEND_MAC, dst=DISPATCHER_MAC)
        / ARP(op=2, hwsrc=BACKEND_MAC, psrc=VIP, hwdst=DISPATCHER_MAC, pdst="192.0.2.1"),
    # A first fragment (MF set) of a UDP datagram.
    "UDP_FIRST_FRAGMENT": Ether(src=CLIENT_MAC, dst=DISPATCHER_MAC) / IP(src=CLIENT, dst=VIP, id=8, ttl=64, flags="MF")
        / UDP(sport=53000, dport=53, len=1208) / Raw(b"x" * 32),
    # An IPv6 frame (unsupported EtherType), header only.
    "IPV6": Ether(src=CLIENT_MAC, dst=DISPATCHER_MAC, type=0x86DD) / Raw(bytes.fromhex("6000000000003b40") + bytes(32)),
}

for name, frame in frames.items():
    print(f'{name} = "{raw(frame).hex()}"')
