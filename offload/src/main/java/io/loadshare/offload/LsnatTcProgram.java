package io.loadshare.offload;

import static io.loadshare.offload.bpf.BpfAssembler.ADD;
import static io.loadshare.offload.bpf.BpfAssembler.AND;
import static io.loadshare.offload.bpf.BpfAssembler.B;
import static io.loadshare.offload.bpf.BpfAssembler.CHECK_MTU;
import static io.loadshare.offload.bpf.BpfAssembler.DW;
import static io.loadshare.offload.bpf.BpfAssembler.H;
import static io.loadshare.offload.bpf.BpfAssembler.JEQ;
import static io.loadshare.offload.bpf.BpfAssembler.JGT;
import static io.loadshare.offload.bpf.BpfAssembler.JLT;
import static io.loadshare.offload.bpf.BpfAssembler.JNE;
import static io.loadshare.offload.bpf.BpfAssembler.KTIME_GET_NS;
import static io.loadshare.offload.bpf.BpfAssembler.L3_CSUM_REPLACE;
import static io.loadshare.offload.bpf.BpfAssembler.L4_CSUM_REPLACE;
import static io.loadshare.offload.bpf.BpfAssembler.MAP_LOOKUP_ELEM;
import static io.loadshare.offload.bpf.BpfAssembler.OR;
import static io.loadshare.offload.bpf.BpfAssembler.R0;
import static io.loadshare.offload.bpf.BpfAssembler.R1;
import static io.loadshare.offload.bpf.BpfAssembler.R10;
import static io.loadshare.offload.bpf.BpfAssembler.R2;
import static io.loadshare.offload.bpf.BpfAssembler.R3;
import static io.loadshare.offload.bpf.BpfAssembler.R4;
import static io.loadshare.offload.bpf.BpfAssembler.R5;
import static io.loadshare.offload.bpf.BpfAssembler.R6;
import static io.loadshare.offload.bpf.BpfAssembler.R7;
import static io.loadshare.offload.bpf.BpfAssembler.R8;
import static io.loadshare.offload.bpf.BpfAssembler.R9;
import static io.loadshare.offload.bpf.BpfAssembler.REDIRECT;
import static io.loadshare.offload.bpf.BpfAssembler.W;

import io.loadshare.offload.bpf.BpfAssembler;

/**
 * LSNAT's fast path (RFC 2391 section 3, paper section 3.2, repeated in the kernel): a tc program on the ingress
 * (tcx) of each arm that, for an IPv4 TCP or UDP packet of a session the pipeline handed over, applies the rewrite
 * the pipeline chose for that direction: both addresses and both ports (a request gets the backend as destination,
 * and in full NAT the source-NAT address and port as source; a reply the reverse), the TTL less one, the MACs of
 * the next hop, and sends it out of the arm it leaves by ({@code bpf_redirect}). Everything else continues to the
 * kernel's stack and so to the raw socket and the pipeline: frames that are not IPv4, IP options, fragments, SYN,
 * FIN or RST, ICMP, unknown flows, flows whose backend is marked down, a TTL that would run out, and a packet too
 * large for the arm it would leave by (the pipeline answers it with "fragmentation needed").
 *
 * <p>Why tc and not XDP: the checksums. A packet a local stack sent over a veth carries a partial checksum (the
 * field holds only the pseudo-header sum, and the kernel completes it on transmit), which XDP cannot tell from a
 * complete one; tc's {@code bpf_l4_csum_replace} with {@code BPF_F_PSEUDO_HDR} updates either kind correctly,
 * as netfilter's NAT does. The raw socket is then bound to IPv4 alone ({@code ETH_P_IP}): such a socket gets a
 * frame after tc ingress, so a redirected frame never reaches user space (one bound to every protocol would copy
 * it before tc runs).
 *
 * <p>Its C reference is {@code offload/src/bpf/lsnat_tc.c}, which {@code BpfReferenceTest} compiles with clang and
 * runs beside this program over the same frames and maps: the same verdicts, the same bytes. Change both together.
 *
 * Registers: r6 the context, r7 the frame and then the checksum's offset, r8 the frame's end and then UDP's
 * zero-checksum flag, r9 the flow's value. Stack: the key at fp-16 (it keeps the old addresses and ports), the
 * backend id at fp-20, the MTU argument at fp-24, the old and new TTL words at fp-28 and fp-32.
 */
final class LsnatTcProgram {
    /** {@code TCX_NEXT}: the next program's verdict, or the stack's when there is none. */
    static final int TCX_NEXT = -1;
    /** {@code TC_ACT_REDIRECT}, what {@code bpf_redirect} returns. */
    static final int TC_ACT_REDIRECT = 7;
    private static final String PASS = "pass";
    private static final int FIN = 0x01;
    private static final int SYN = 0x02;
    private static final int RST = 0x04;
    private static final int SKB_LEN = 0;
    private static final int SKB_DATA = 76;
    private static final int SKB_DATA_END = 80;
    private static final int IP_CHECKSUM = 24;
    private static final int TCP_CHECKSUM = 50;
    private static final int UDP_CHECKSUM = 40;
    private static final int PSEUDO_HDR = 0x10;
    private static final int MARK_MANGLED_0 = 0x20;

    private LsnatTcProgram() {
    }

    static long[] assemble(FastPathMaps maps) {
        BpfAssembler a = new BpfAssembler();
        a.mov(R6, R1)
                .load(W, R7, R6, SKB_DATA)
                .load(W, R8, R6, SKB_DATA_END)
                .mov(R1, R7).aluImm(ADD, R1, 42).jump(JGT, R1, R8, PASS)
                // Loads are little-endian: the bytes 08 00 read as 0x0008, the mask 3f ff as 0xff3f.
                .load(H, R1, R7, 12).jumpImm(JNE, R1, 0x0008, PASS)
                .load(B, R1, R7, 14).jumpImm(JNE, R1, 0x45, PASS)
                .load(H, R1, R7, 20).aluImm(AND, R1, 0xff3f).jumpImm(JNE, R1, 0, PASS)
                .load(B, R1, R7, 23).jumpImm(JEQ, R1, 17, "key").jumpImm(JNE, R1, 6, PASS)
                .mov(R2, R7).aluImm(ADD, R2, 54).jump(JGT, R2, R8, PASS)
                .load(B, R2, R7, 47).aluImm(AND, R2, FIN | SYN | RST).jumpImm(JNE, R2, 0, PASS)
                .label("key")
                .store(W, R10, -4, R1)
                .load(W, R2, R7, 26).store(W, R10, -16, R2)
                .load(W, R2, R7, 30).store(W, R10, -12, R2)
                .load(W, R2, R7, 34).store(W, R10, -8, R2)
                .loadMap(R1, maps.flows()).mov(R2, R10).aluImm(ADD, R2, -16).call(MAP_LOOKUP_ELEM)
                .jumpImm(JEQ, R0, 0, PASS)
                .mov(R9, R0)
                .load(B, R1, R7, 22).jumpImm(JLT, R1, 2, PASS)
                .movImm(R1, 0).store(W, R10, -24, R1)
                .mov(R1, R6).load(W, R2, R9, FastPathMaps.NAT_IFINDEX).mov(R3, R10).aluImm(ADD, R3, -24)
                .movImm(R4, 0).movImm(R5, 0).call(CHECK_MTU)
                .jumpImm(JNE, R0, 0, PASS)
                .load(W, R1, R9, FastPathMaps.FLOW_BACKEND).store(W, R10, -20, R1)
                .loadMap(R1, maps.backends()).mov(R2, R10).aluImm(ADD, R2, -20).call(MAP_LOOKUP_ELEM)
                .jumpImm(JEQ, R0, 0, PASS)
                .load(B, R1, R0, FastPathMaps.BACKEND_UP).jumpImm(JEQ, R1, 0, PASS)
                // From here the frame changes: no way back to the pipeline.
                .load(W, R1, R9, FastPathMaps.NAT_FLAGS).aluImm(AND, R1, FastPathMaps.NAT_TO_BACKEND)
                .jumpImm(JNE, R1, 0, "mac")
                .mov(R0, R9).aluImm(ADD, R0, FastPathMaps.NAT_DESTINATION_MAC)
                .label("mac")
                .load(W, R1, R0, 0).store(W, R7, 0, R1)
                .load(H, R1, R0, 4).store(H, R7, 4, R1)
                .load(W, R1, R9, FastPathMaps.NAT_SOURCE_MAC).store(W, R7, 6, R1)
                .load(H, R1, R9, FastPathMaps.NAT_SOURCE_MAC + 4).store(H, R7, 10, R1)
                // The TTL is the low byte of the little-endian word it shares with the protocol.
                .load(H, R1, R7, 22).store(W, R10, -28, R1).aluImm(ADD, R1, -1).store(H, R7, 22, R1)
                .store(W, R10, -32, R1)
                .load(W, R1, R9, FastPathMaps.NAT_SOURCE).store(W, R7, 26, R1)
                .load(W, R1, R9, FastPathMaps.NAT_DESTINATION).store(W, R7, 30, R1)
                .load(W, R1, R9, FastPathMaps.NAT_SOURCE_PORT).store(W, R7, 34, R1)
                .load(B, R1, R7, 23)
                .movImm(R7, TCP_CHECKSUM).movImm(R8, 0)
                .jumpImm(JEQ, R1, 6, "count")
                .movImm(R7, UDP_CHECKSUM).movImm(R8, MARK_MANGLED_0)
                .label("count")
                .call(KTIME_GET_NS).store(DW, R9, FastPathMaps.FLOW_LAST_SEEN, R0)
                .loadMap(R1, maps.stats()).mov(R2, R10).aluImm(ADD, R2, -20).call(MAP_LOOKUP_ELEM)
                .jumpImm(JEQ, R0, 0, "checksums")
                .load(DW, R1, R0, 0).aluImm(ADD, R1, 1).store(DW, R0, 0, R1)
                .load(W, R1, R6, SKB_LEN).load(DW, R2, R0, 8).alu(ADD, R2, R1).store(DW, R0, 8, R2)
                .label("checksums");
        l3(a, -16, FastPathMaps.NAT_SOURCE);
        l3(a, -12, FastPathMaps.NAT_DESTINATION);
        a.mov(R1, R6).movImm(R2, IP_CHECKSUM).load(W, R3, R10, -28).load(W, R4, R10, -32).movImm(R5, 2)
                .call(L3_CSUM_REPLACE);
        l4(a, W, -16, FastPathMaps.NAT_SOURCE, PSEUDO_HDR | 4);
        l4(a, W, -12, FastPathMaps.NAT_DESTINATION, PSEUDO_HDR | 4);
        l4(a, H, -8, FastPathMaps.NAT_SOURCE_PORT, 2);
        l4(a, H, -6, FastPathMaps.NAT_DESTINATION_PORT, 2);
        a.load(W, R1, R9, FastPathMaps.NAT_IFINDEX).movImm(R2, 0).call(REDIRECT).exit()
                .label(PASS).movImm(R0, TCX_NEXT).exit();
        return a.assemble();
    }

    /** The IP header checksum for one address: old from the key on the stack, new from the flow's value. */
    private static void l3(BpfAssembler a, int keyOffset, int valueOffset) {
        a.mov(R1, R6).movImm(R2, IP_CHECKSUM).load(W, R3, R10, keyOffset).load(W, R4, R9, valueOffset)
                .movImm(R5, 4).call(L3_CSUM_REPLACE);
    }

    /** The TCP or UDP checksum for one field; {@code flags} says its size and whether the pseudo-header has it. */
    private static void l4(BpfAssembler a, int size, int keyOffset, int valueOffset, int flags) {
        a.mov(R1, R6).mov(R2, R7).load(size, R3, R10, keyOffset).load(size, R4, R9, valueOffset)
                .mov(R5, R8).aluImm(OR, R5, flags).call(L4_CSUM_REPLACE);
    }
}
