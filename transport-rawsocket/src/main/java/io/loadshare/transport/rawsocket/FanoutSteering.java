package io.loadshare.transport.rawsocket;

import static io.loadshare.transport.rawsocket.ClassicBpf.ADD_X;
import static io.loadshare.transport.rawsocket.ClassicBpf.AND_K;
import static io.loadshare.transport.rawsocket.ClassicBpf.JEQ_K;
import static io.loadshare.transport.rawsocket.ClassicBpf.JSET_K;
import static io.loadshare.transport.rawsocket.ClassicBpf.LDX_B_MSH;
import static io.loadshare.transport.rawsocket.ClassicBpf.LDX_MEM;
import static io.loadshare.transport.rawsocket.ClassicBpf.LD_B_ABS;
import static io.loadshare.transport.rawsocket.ClassicBpf.LD_B_IND;
import static io.loadshare.transport.rawsocket.ClassicBpf.LD_H_ABS;
import static io.loadshare.transport.rawsocket.ClassicBpf.LD_H_IND;
import static io.loadshare.transport.rawsocket.ClassicBpf.LD_MEM;
import static io.loadshare.transport.rawsocket.ClassicBpf.LD_W_ABS;
import static io.loadshare.transport.rawsocket.ClassicBpf.LD_W_IND;
import static io.loadshare.transport.rawsocket.ClassicBpf.LSH_K;
import static io.loadshare.transport.rawsocket.ClassicBpf.MUL_K;
import static io.loadshare.transport.rawsocket.ClassicBpf.RET_A;
import static io.loadshare.transport.rawsocket.ClassicBpf.RET_K;
import static io.loadshare.transport.rawsocket.ClassicBpf.RSH_K;
import static io.loadshare.transport.rawsocket.ClassicBpf.ST;
import static io.loadshare.transport.rawsocket.ClassicBpf.TAX;
import static io.loadshare.transport.rawsocket.ClassicBpf.XOR_X;

import io.loadshare.core.packet.EtherType;
import java.util.ArrayList;
import java.util.List;

/**
 * A PACKET_FANOUT_CBPF program that sends both directions of a translated flow to the same socket of a fanout
 * group, so that one worker's session table sees all of it. The kernel's own flow hash cannot: a request
 * (client → cluster address) and its reply (backend → client) are different 4-tuples.
 *
 * <p>The key is the flow's client side: the source address and port of a request (to one of the
 * {@linkplain Builder#requestsTo request addresses}), the destination address and port of anything else (a reply
 * on its way back to the client). A reply to a {@linkplain Builder#portSlicesOf port-sliced address} (a full-NAT
 * source address) goes by its destination port alone, to socket {@code port % sockets}: each worker hands out only
 * the ports of its own slice. ICMP errors go by the datagram they quote, the same way. Anything else (ARP, IPv6,
 * fragments, ICMP echo) goes to the first socket.
 *
 * <p>When clients must stick to one backend across connections (persistence), {@linkplain Builder#clientAddressOnly
 * the key is the client's address alone}, masked, so that all of a client's connections meet one worker's
 * templates.
 *
 * <p>The kernel numbers a group's sockets in the order they joined, so workers must join in their own order.
 */
public record FanoutSteering(List<Long> instructions) {
    /**
     * The kernel runs a fanout program on the frame as received, whose data starts at the IPv4 header (past the
     * Ethernet header, unlike a socket filter's). Positive offsets read through skb_header_pointer, so headers in
     * a non-linear frame are found too.
     */
    private static final int IPV4 = 0;
    /** SKF_AD_OFF + SKF_AD_PROTOCOL: the frame's EtherType, as the kernel has it (after any VLAN tag). */
    private static final int ETHER_TYPE = 0xFFFF_F000;
    private static final int IP_SOURCE = IPV4 + 12;
    private static final int IP_DESTINATION = IPV4 + 16;
    private static final int MORE_FRAGMENTS_OR_OFFSET = 0x3FFF;
    /** ICMP header, then the quoted datagram's IPv4 header. */
    private static final int ICMP_LENGTH = 8;
    private static final int ICMP_DESTINATION_UNREACHABLE = 3;
    private static final int ICMP_TIME_EXCEEDED = 11;
    private static final int ICMP_PARAMETER_PROBLEM = 12;
    private static final int TCP = 6;
    private static final int UDP = 17;
    private static final int ICMP = 1;
    /** Scratch memory: the key's address, and the quoted datagram's two addresses. */
    private static final int KEY_ADDRESS = 0;
    private static final int QUOTED_SOURCE = 1;
    private static final int QUOTED_DESTINATION = 2;
    /** MurmurHash3's 32-bit finaliser: every input bit reaches the low bits, which the kernel's modulo keeps. */
    private static final int MIX1 = 0x85EBCA6B;
    private static final int MIX2 = 0xC2B2AE35;

    public FanoutSteering {
        instructions = List.copyOf(instructions);
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * The socket index before the kernel's {@code % sockets}, as the program computes it for a flow's client side
     * (with {@link Builder#clientAddressOnly}, for the masked address and port 0).
     */
    static int hash(int address, int port) {
        int h = address ^ port;
        h ^= h >>> 16;
        h *= MIX1;
        h ^= h >>> 13;
        h *= MIX2;
        return h ^ h >>> 16;
    }

    /** Which addresses requests go to and which hand out port slices. */
    public static final class Builder {
        private final List<Integer> requestAddresses = new ArrayList<>();
        private final List<Integer> slicedAddresses = new ArrayList<>();
        private int addressMask = -1;
        private boolean addressOnly;

        /** The cluster addresses: a frame to one of them is a request, keyed by its source. */
        public Builder requestsTo(List<Integer> addresses) {
            requestAddresses.addAll(addresses);
            return this;
        }

        /** Full-NAT source addresses: a frame to one of them goes to socket {@code destination port % sockets}. */
        public Builder portSlicesOf(List<Integer> addresses) {
            slicedAddresses.addAll(addresses);
            return this;
        }

        /** Keys flows by the client's address under {@code netmask} alone, not its port (persistence). */
        public Builder clientAddressOnly(int netmask) {
            addressOnly = true;
            addressMask = netmask;
            return this;
        }

        public FanoutSteering build() {
            if (requestAddresses.size() + slicedAddresses.size() > SocketFilter.MAX_ADDRESSES) {
                throw new IllegalArgumentException("fanout steering takes at most " + SocketFilter.MAX_ADDRESSES
                        + " addresses");
            }
            ClassicBpf p = new ClassicBpf();
            p.op(LD_H_ABS, ETHER_TYPE).jump(JEQ_K, EtherType.IPV4, null, "first");
            p.op(LD_H_ABS, IPV4 + 6).jump(JSET_K, MORE_FRAGMENTS_OR_OFFSET, "first", null);
            p.op(LDX_B_MSH, IPV4);
            p.op(LD_B_ABS, IPV4 + 9).jump(JEQ_K, TCP, "ports", null).jump(JEQ_K, UDP, "ports", null)
                    .jump(JEQ_K, ICMP, null, "first");

            // ICMP: an error quotes the datagram it is about; steer as that datagram's flow.
            int quoted = IPV4 + ICMP_LENGTH;
            p.op(LD_B_IND, IPV4).jump(JEQ_K, ICMP_DESTINATION_UNREACHABLE, "error", null)
                    .jump(JEQ_K, ICMP_TIME_EXCEEDED, "error", null).jump(JEQ_K, ICMP_PARAMETER_PROBLEM, null, "first");
            p.label("error").op(LD_B_IND, quoted + 9).jump(JEQ_K, TCP, "quoted", null).jump(JEQ_K, UDP, null, "first");
            p.label("quoted").op(LD_W_IND, quoted + 12).op(ST, QUOTED_SOURCE)
                    .op(LD_W_IND, quoted + 16).op(ST, QUOTED_DESTINATION);
            // X becomes the outer plus the quoted header length: the quoted ports are at quoted + X.
            p.op(LD_B_IND, quoted).op(AND_K, 0xF).op(LSH_K, 2).op(ADD_X, 0).op(TAX, 0);
            p.op(LD_W_ABS, IP_DESTINATION);
            matchAny(p, requestAddresses, "quoted-reply");
            // From the backends' side, about a request it received: the quoted source is the client side.
            p.op(LD_MEM, QUOTED_SOURCE);
            matchAny(p, slicedAddresses, "quoted-slice");
            p.op(ST, KEY_ADDRESS).op(LD_H_IND, quoted).jumpTo("hash");
            p.label("quoted-slice").op(LD_H_IND, quoted).op(RET_A, 0);
            // From a client, about a reply it received: the quoted destination is the client side.
            p.label("quoted-reply").op(LD_MEM, QUOTED_DESTINATION).op(ST, KEY_ADDRESS)
                    .op(LD_H_IND, quoted + 2).jumpTo("hash");

            p.label("ports").op(LD_W_ABS, IP_DESTINATION);
            matchAny(p, slicedAddresses, "slice");
            matchAny(p, requestAddresses, "request");
            p.op(ST, KEY_ADDRESS).op(LD_H_IND, IPV4 + 2).jumpTo("hash");
            p.label("slice").op(LD_H_IND, IPV4 + 2).op(RET_A, 0);
            p.label("request").op(LD_W_ABS, IP_SOURCE).op(ST, KEY_ADDRESS).op(LD_H_IND, IPV4);

            // A = port, M[key] = address: the same mix as hash(address, port).
            p.label("hash");
            if (addressOnly) {
                p.op(LD_MEM, KEY_ADDRESS).op(AND_K, addressMask);
            } else {
                p.op(LDX_MEM, KEY_ADDRESS).op(XOR_X, 0);
            }
            p.op(TAX, 0).op(RSH_K, 16).op(XOR_X, 0).op(MUL_K, MIX1)
                    .op(TAX, 0).op(RSH_K, 13).op(XOR_X, 0).op(MUL_K, MIX2)
                    .op(TAX, 0).op(RSH_K, 16).op(XOR_X, 0)
                    .op(RET_A, 0);
            p.label("first").op(RET_K, 0);
            return new FanoutSteering(p.assemble());
        }

        private static void matchAny(ClassicBpf p, List<Integer> addresses, String label) {
            for (int address : addresses) {
                p.jump(JEQ_K, address, label, null);
            }
        }
    }
}
