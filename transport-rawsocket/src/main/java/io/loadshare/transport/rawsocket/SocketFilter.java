package io.loadshare.transport.rawsocket;

import io.loadshare.core.packet.EtherType;
import java.util.ArrayList;
import java.util.List;

/**
 * A classic BPF program for SO_ATTACH_FILTER, so that the kernel hands user space only the frames a dispatcher
 * wants: frames addressed to this host (and broadcasts, if asked), ARP if asked, and IPv4 to or from the given
 * addresses. Everything else is dropped before it costs a system call.
 *
 * @param instructions the program, one {@code struct sock_filter} per element: code (16) | jt (8) | jf (8) in the
 *     high 32 bits, k in the low 32
 */
public record SocketFilter(List<Long> instructions) {
    /** Most instructions the kernel accepts in one program (BPF_MAXINSNS). */
    public static final int MAX_INSTRUCTIONS = 4096;
    /** Addresses per list; keeps every jump within classic BPF's 8-bit offsets. */
    public static final int MAX_ADDRESSES = 100;

    static final int PACKET_HOST = 0;
    static final int PACKET_BROADCAST = 1;
    private static final int SKF_AD_PKTTYPE = 0xFFFF_F000 + 4;
    private static final int SKF_AD_VLAN_TAG = 0xFFFF_F000 + 44;
    private static final int SKF_AD_VLAN_TAG_PRESENT = 0xFFFF_F000 + 48;
    private static final int SKF_AD_VLAN_TPID = 0xFFFF_F000 + 60;
    private static final int VLAN_ID_MASK = 0xFFF;
    private static final int ACCEPT = 0x0004_0000;
    private static final int IPV4_SOURCE = 14 + 12;
    private static final int IPV4_DESTINATION = 14 + 16;

    public SocketFilter {
        instructions = List.copyOf(instructions);
        if (instructions.isEmpty() || instructions.size() > MAX_INSTRUCTIONS) {
            throw new IllegalArgumentException("a socket filter needs 1.." + MAX_INSTRUCTIONS + " instructions, got "
                    + instructions.size());
        }
    }

    /**
     * This filter for the frames of one VLAN of a trunk alone: an 802.1Q tag (TPID 0x8100, not an 802.1ad one) with
     * that id, which the kernel has moved into the frame's metadata before any packet socket sees it. Frames of
     * other VLANs and untagged ones are dropped in the kernel, before they are copied up.
     */
    public SocketFilter onVlan(int vlan) {
        List<Long> program = new ArrayList<>(List.of(
                insn(ClassicBpf.LD_W_ABS, 0, 0, SKF_AD_VLAN_TAG_PRESENT),
                insn(ClassicBpf.JEQ_K, 0, 5, 1),
                insn(ClassicBpf.LD_W_ABS, 0, 0, SKF_AD_VLAN_TPID),
                insn(ClassicBpf.JEQ_K, 0, 3, EtherType.VLAN),
                insn(ClassicBpf.LD_W_ABS, 0, 0, SKF_AD_VLAN_TAG),
                insn(ClassicBpf.AND_K, 0, 0, VLAN_ID_MASK),
                insn(ClassicBpf.JEQ_K, 1, 0, vlan),
                insn(ClassicBpf.RET_K, 0, 0, 0)));
        program.addAll(instructions);
        return new SocketFilter(program);
    }

    private static long insn(int code, int jt, int jf, int k) {
        return (long) code << 48 | (long) jt << 40 | (long) jf << 32 | (k & 0xFFFF_FFFFL);
    }

    /** Frames for this host only (PACKET_HOST), of any protocol. */
    public static SocketFilter hostOnly() {
        return new Builder().build();
    }

    /** Every frame the interface sees, other hosts' included (a bridge or a tap; the interface must be promiscuous). */
    public static SocketFilter acceptAll() {
        return new SocketFilter(List.of((long) ClassicBpf.RET_K << 48 | ACCEPT));
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Composes a filter; with no address lists every IPv4 frame passes. */
    public static final class Builder {
        private boolean broadcast;
        private boolean arp = true;
        private boolean otherEtherTypes = true;
        private final List<Integer> destinations = new ArrayList<>();
        private final List<Integer> sources = new ArrayList<>();

        /** Also accept broadcast frames (an ARP responder needs them). */
        public Builder acceptBroadcast(boolean accept) {
            this.broadcast = accept;
            return this;
        }

        /** Accept ARP (default true). */
        public Builder acceptArp(boolean accept) {
            this.arp = accept;
            return this;
        }

        /** Accept every IPv4 frame to one of these addresses (and drop other EtherTypes but ARP). */
        public Builder ipv4Destinations(List<Integer> addresses) {
            destinations.addAll(addresses);
            otherEtherTypes = false;
            return this;
        }

        /** Accept every IPv4 frame from one of these addresses (and drop other EtherTypes but ARP). */
        public Builder ipv4Sources(List<Integer> addresses) {
            sources.addAll(addresses);
            otherEtherTypes = false;
            return this;
        }

        public SocketFilter build() {
            if (destinations.size() > MAX_ADDRESSES || sources.size() > MAX_ADDRESSES) {
                throw new IllegalArgumentException("a socket filter takes at most " + MAX_ADDRESSES
                        + " addresses per list");
            }
            ClassicBpf p = new ClassicBpf();
            p.op(ClassicBpf.LD_W_ABS, SKF_AD_PKTTYPE);
            if (broadcast) {
                p.jump(ClassicBpf.JEQ_K, PACKET_BROADCAST, "addressed", null);
            }
            p.jump(ClassicBpf.JEQ_K, PACKET_HOST, null, "reject");
            p.label("addressed");
            if (!(otherEtherTypes && arp)) {
                p.op(ClassicBpf.LD_H_ABS, 12);
                p.jump(ClassicBpf.JEQ_K, EtherType.ARP, arp ? "accept" : "reject", null);
                p.jump(ClassicBpf.JEQ_K, EtherType.IPV4, null, "reject");
                if (!destinations.isEmpty() || !sources.isEmpty()) {
                    addressChecks(p, IPV4_DESTINATION, destinations);
                    addressChecks(p, IPV4_SOURCE, sources);
                    p.jumpTo("reject");
                }
            }
            p.label("accept").op(ClassicBpf.RET_K, ACCEPT);
            p.label("reject").op(ClassicBpf.RET_K, 0);
            return new SocketFilter(p.assemble());
        }

        private static void addressChecks(ClassicBpf p, int offset, List<Integer> addresses) {
            if (addresses.isEmpty()) {
                return;
            }
            p.op(ClassicBpf.LD_W_ABS, offset);
            for (int address : addresses) {
                p.jump(ClassicBpf.JEQ_K, address, "accept", null);
            }
        }
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("SocketFilter[");
        for (long insn : instructions) {
            sb.append(String.format("{0x%02x, %d, %d, 0x%08x}", insn >>> 48, (insn >>> 40) & 0xFF,
                    (insn >>> 32) & 0xFF, insn & 0xFFFF_FFFFL));
        }
        return sb.append(']').toString();
    }
}
