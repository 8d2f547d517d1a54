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
    private static final int LD_W_ABS = 0x20;
    private static final int LD_H_ABS = 0x28;
    private static final int JEQ_K = 0x15;
    private static final int RET_K = 0x06;
    private static final int SKF_AD_PKTTYPE = 0xFFFF_F000 + 4;
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

    /** Frames for this host only (PACKET_HOST), of any protocol. */
    public static SocketFilter hostOnly() {
        return new Builder().build();
    }

    /** Every frame the interface sees, other hosts' included (a bridge or a tap; the interface must be promiscuous). */
    public static SocketFilter acceptAll() {
        return new SocketFilter(List.of((long) RET_K << 48 | ACCEPT));
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
            List<long[]> program = new ArrayList<>();
            // Each jump target below is "accept" or "reject", resolved once the program's length is known.
            program.add(new long[] {LD_W_ABS, 0, 0, SKF_AD_PKTTYPE});
            if (broadcast) {
                program.add(new long[] {JEQ_K, 1, 0, PACKET_BROADCAST});
            }
            program.add(new long[] {JEQ_K, 0, REJECT, PACKET_HOST});
            if (otherEtherTypes && arp) {
                program.add(new long[] {RET_K, 0, 0, ACCEPT});
                return assemble(program);
            }
            program.add(new long[] {LD_H_ABS, 0, 0, 12});
            program.add(new long[] {JEQ_K, arp ? ACCEPT_LABEL : REJECT, 0, EtherType.ARP});
            program.add(new long[] {JEQ_K, 0, REJECT, EtherType.IPV4});
            if (destinations.isEmpty() && sources.isEmpty()) {
                program.add(new long[] {RET_K, 0, 0, ACCEPT});
                return assemble(program);
            }
            addressChecks(program, IPV4_DESTINATION, destinations);
            addressChecks(program, IPV4_SOURCE, sources);
            program.add(new long[] {RET_K, 0, 0, 0});
            return assemble(program);
        }

        private static void addressChecks(List<long[]> program, int offset, List<Integer> addresses) {
            if (addresses.isEmpty()) {
                return;
            }
            program.add(new long[] {LD_W_ABS, 0, 0, offset});
            for (int address : addresses) {
                program.add(new long[] {JEQ_K, ACCEPT_LABEL, 0, address & 0xFFFF_FFFFL});
            }
        }

        private static final long REJECT = -1;
        private static final long ACCEPT_LABEL = -2;

        /** Appends the shared accept/reject returns and turns labels into relative jumps. */
        private static SocketFilter assemble(List<long[]> program) {
            int accept = program.size();
            boolean needsLabels = program.stream().anyMatch(i -> i[1] < 0 || i[2] < 0);
            if (!needsLabels) {
                return new SocketFilter(program.stream().map(Builder::encode).toList());
            }
            program.add(new long[] {RET_K, 0, 0, ACCEPT});
            program.add(new long[] {RET_K, 0, 0, 0});
            int reject = accept + 1;
            List<Long> encoded = new ArrayList<>();
            for (int pc = 0; pc < program.size(); pc++) {
                long[] insn = program.get(pc);
                for (int j = 1; j <= 2; j++) {
                    if (insn[j] == REJECT) {
                        insn[j] = reject - pc - 1;
                    } else if (insn[j] == ACCEPT_LABEL) {
                        insn[j] = accept - pc - 1;
                    }
                    if (insn[j] > 255) {
                        throw new IllegalArgumentException("socket filter jump too long at instruction " + pc);
                    }
                }
                encoded.add(encode(insn));
            }
            return new SocketFilter(encoded);
        }

        private static long encode(long[] insn) {
            return (insn[0] << 48) | (insn[1] << 40) | (insn[2] << 32) | (insn[3] & 0xFFFF_FFFFL);
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
