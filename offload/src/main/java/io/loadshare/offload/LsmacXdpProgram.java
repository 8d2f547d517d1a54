package io.loadshare.offload;

import static io.loadshare.offload.bpf.BpfAssembler.AND;
import static io.loadshare.offload.bpf.BpfAssembler.ADD;
import static io.loadshare.offload.bpf.BpfAssembler.B;
import static io.loadshare.offload.bpf.BpfAssembler.DW;
import static io.loadshare.offload.bpf.BpfAssembler.H;
import static io.loadshare.offload.bpf.BpfAssembler.JEQ;
import static io.loadshare.offload.bpf.BpfAssembler.JGT;
import static io.loadshare.offload.bpf.BpfAssembler.JNE;
import static io.loadshare.offload.bpf.BpfAssembler.KTIME_GET_NS;
import static io.loadshare.offload.bpf.BpfAssembler.MAP_LOOKUP_ELEM;
import static io.loadshare.offload.bpf.BpfAssembler.R0;
import static io.loadshare.offload.bpf.BpfAssembler.R1;
import static io.loadshare.offload.bpf.BpfAssembler.R10;
import static io.loadshare.offload.bpf.BpfAssembler.R2;
import static io.loadshare.offload.bpf.BpfAssembler.R6;
import static io.loadshare.offload.bpf.BpfAssembler.R7;
import static io.loadshare.offload.bpf.BpfAssembler.R8;
import static io.loadshare.offload.bpf.BpfAssembler.R9;
import static io.loadshare.offload.bpf.BpfAssembler.W;

import io.loadshare.offload.bpf.BpfAssembler;

/**
 * LSMAC's fast path (paper section 3.1, repeated in the kernel): an XDP program that, for an IPv4 TCP or UDP frame
 * of a flow the pipeline handed over, writes the backend's MAC as destination and the dispatcher's as source and
 * transmits the frame back out of the interface ({@code XDP_TX}). Everything else passes to the kernel's stack and
 * so to the raw socket and the pipeline: frames that are not IPv4, IP options, fragments, SYN, FIN or RST, ICMP,
 * unknown flows, and flows whose backend is marked down.
 *
 * <p>In C it would read:
 * <pre>
 * eth = data; ip = data + 14; l4 = data + 34;
 * if (data + 54 > data_end || eth->proto != htons(ETH_P_IP) || ip->ver_ihl != 0x45
 *         || ip->frag_off &amp; htons(0x3fff)) return XDP_PASS;
 * if (ip->protocol == IPPROTO_TCP) { if (tcp->flags &amp; (FIN|SYN|RST)) return XDP_PASS; }
 * else if (ip->protocol != IPPROTO_UDP) return XDP_PASS;
 * key = { ip->saddr, ip->daddr, l4->source, l4->dest, ip->protocol };
 * flow = lookup(flows, key);                   if (!flow) return XDP_PASS;
 * backend = lookup(backends, flow->backend);   if (!backend || !backend->up) return XDP_PASS;
 * eth->dest = backend->mac; eth->source = DISPATCHER_MAC;
 * flow->last_seen = bpf_ktime_get_ns();
 * stats = lookup(per_cpu_stats, flow->backend); stats->packets++; stats->bytes += 14 + ntohs(ip->tot_len);
 * return XDP_TX;
 * </pre>
 * The 54-byte check covers a UDP frame's 42 bytes too. Registers: r6 the context, r7 the frame, r8 its end, r9 the
 * flow's value; the key sits at fp-16, the backend id at fp-20.
 */
final class LsmacXdpProgram {
    static final int XDP_PASS = 2;
    static final int XDP_TX = 3;
    private static final String PASS = "pass";

    private LsmacXdpProgram() {
    }

    /** The program for one interface whose MAC is {@code dispatcherMac}. */
    static long[] assemble(FastPathMaps maps, long dispatcherMac) {
        BpfAssembler a = new BpfAssembler();
        a.mov(R6, R1)
                .load(W, R7, R6, 0)
                .load(W, R8, R6, 4)
                .mov(R1, R7).aluImm(ADD, R1, 54).jump(JGT, R1, R8, PASS)
                // Loads are little-endian: the bytes 08 00 read as 0x0008, the mask 3f ff as 0xff3f.
                .load(H, R1, R7, 12).jumpImm(JNE, R1, 0x0008, PASS)
                .load(B, R1, R7, 14).jumpImm(JNE, R1, 0x45, PASS)
                .load(H, R1, R7, 20).aluImm(AND, R1, 0xff3f).jumpImm(JNE, R1, 0, PASS)
                .load(B, R1, R7, 23).jumpImm(JEQ, R1, 17, "key").jumpImm(JNE, R1, 6, PASS)
                .load(B, R2, R7, 47).aluImm(AND, R2, 0x07).jumpImm(JNE, R2, 0, PASS)
                .label("key")
                .store(W, R10, -4, R1)
                .load(W, R2, R7, 26).store(W, R10, -16, R2)
                .load(W, R2, R7, 30).store(W, R10, -12, R2)
                .load(W, R2, R7, 34).store(W, R10, -8, R2)
                .loadMap(R1, maps.flows()).mov(R2, R10).aluImm(ADD, R2, -16).call(MAP_LOOKUP_ELEM)
                .jumpImm(JEQ, R0, 0, PASS)
                .mov(R9, R0)
                .load(W, R1, R9, FastPathMaps.FLOW_BACKEND).store(W, R10, -20, R1)
                .loadMap(R1, maps.backends()).mov(R2, R10).aluImm(ADD, R2, -20).call(MAP_LOOKUP_ELEM)
                .jumpImm(JEQ, R0, 0, PASS)
                .load(B, R1, R0, FastPathMaps.BACKEND_UP).jumpImm(JEQ, R1, 0, PASS)
                .load(W, R1, R0, 0).store(W, R7, 0, R1)
                .load(H, R1, R0, 4).store(H, R7, 4, R1)
                .movImm(R1, (int) littleEndian(dispatcherMac >>> 16, 4)).store(W, R7, 6, R1)
                .movImm(R1, (int) littleEndian(dispatcherMac, 2)).store(H, R7, 10, R1)
                .call(KTIME_GET_NS).store(DW, R9, FastPathMaps.FLOW_LAST_SEEN, R0)
                .loadMap(R1, maps.stats()).mov(R2, R10).aluImm(ADD, R2, -20).call(MAP_LOOKUP_ELEM)
                .jumpImm(JEQ, R0, 0, "transmit")
                .load(DW, R1, R0, 0).aluImm(ADD, R1, 1).store(DW, R0, 0, R1)
                .load(H, R1, R7, 16).toBigEndian(R1, 16).aluImm(ADD, R1, 14)
                .load(DW, R2, R0, 8).alu(ADD, R2, R1).store(DW, R0, 8, R2)
                .label("transmit")
                .movImm(R0, XDP_TX).exit()
                .label(PASS)
                .movImm(R0, XDP_PASS).exit();
        return a.assemble();
    }

    /** The low {@code bytes} bytes of {@code value}, most significant first in memory, as a little-endian load reads them. */
    static long littleEndian(long value, int bytes) {
        long out = 0;
        for (int i = 0; i < bytes; i++) {
            out |= ((value >>> (8 * (bytes - 1 - i))) & 0xFF) << (8 * i);
        }
        return out;
    }
}
