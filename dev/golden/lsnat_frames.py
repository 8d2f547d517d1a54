#!/usr/bin/python3
"""Golden frames for dispatch-l3's NatRewriter tests, made with scapy (Debian python3-scapy 2.5).

Run: /usr/bin/python3 dev/golden/lsnat_frames.py
Each pair is an input frame and the frame LSNAT must emit for it; scapy computes every checksum in full, so the
pairs check the rewriter's incremental updates against full recomputation.
"""
from scapy.all import Ether, IP, TCP, ICMP, raw

CLIENT_MAC, DISPATCHER_MAC, BACKEND_MAC = "02:00:00:00:00:01", "02:00:00:00:00:fe", "02:00:00:00:00:0b"
CLIENT, VIP, BACKEND, ROUTER = "203.0.113.2", "203.0.113.10", "192.0.2.11", "192.0.2.254"

frames = {
    # Client SYN to the VIP, and as it must leave towards the backend (TTL 63, new destination).
    "SYN_IN": Ether(src=CLIENT_MAC, dst=DISPATCHER_MAC) / IP(src=CLIENT, dst=VIP, ttl=64, id=1)
        / TCP(sport=40000, dport=80, flags="S", seq=1000, window=64240),
    "SYN_OUT": Ether(src=DISPATCHER_MAC, dst=BACKEND_MAC) / IP(src=CLIENT, dst=BACKEND, ttl=63, id=1)
        / TCP(sport=40000, dport=80, flags="S", seq=1000, window=64240),
    # The backend's SYN+ACK, and as the client must see it: from the VIP.
    "SYNACK_IN": Ether(src=BACKEND_MAC, dst=DISPATCHER_MAC) / IP(src=BACKEND, dst=CLIENT, ttl=64, id=2)
        / TCP(sport=80, dport=40000, flags="SA", seq=5000, ack=1001, window=65160),
    "SYNACK_OUT": Ether(src=DISPATCHER_MAC, dst=CLIENT_MAC) / IP(src=VIP, dst=CLIENT, ttl=63, id=2)
        / TCP(sport=80, dport=40000, flags="SA", seq=5000, ack=1001, window=65160),
    # A backend-side router's "fragmentation needed" about a request it could not pass to the backend, and as the
    # client must see it: quoting its own request to the VIP. The quoted TCP checksum is fixed at 0x1234 in both,
    # since an ICMP error's quote is not checksummed by receivers.
    "FRAG_NEEDED_IN": Ether(src=BACKEND_MAC, dst=DISPATCHER_MAC) / IP(src=ROUTER, dst=CLIENT, ttl=64, id=3)
        / ICMP(type=3, code=4, nexthopmtu=1400)
        / IP(src=CLIENT, dst=BACKEND, ttl=63, id=4, flags="DF", len=1500)
        / TCP(sport=40000, dport=80, flags="A", seq=1001, ack=5001, chksum=0x1234),
    "FRAG_NEEDED_OUT": Ether(src=DISPATCHER_MAC, dst=CLIENT_MAC) / IP(src=ROUTER, dst=CLIENT, ttl=63, id=3)
        / ICMP(type=3, code=4, nexthopmtu=1400)
        / IP(src=CLIENT, dst=VIP, ttl=63, id=4, flags="DF", len=1500)
        / TCP(sport=40000, dport=80, flags="A", seq=1001, ack=5001, chksum=0x1234),
}

for name, frame in frames.items():
    print(f'{name} = "{raw(frame).hex()}"')
