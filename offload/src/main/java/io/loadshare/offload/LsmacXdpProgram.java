package io.loadshare.offload;

import static io.loadshare.offload.bpf.BpfAssembler.AND;
import static io.loadshare.offload.bpf.BpfAssembler.ADD;
import static io.loadshare.offload.bpf.BpfAssembler.B;
import static io.loadshare.offload.bpf.BpfAssembler.DW;
import static io.loadshare.offload.bpf.BpfAssembler.H;
import static io.loadshare.offload.bpf.BpfAssembler.JEQ;
import static io.loadshare.offload.bpf.BpfAssembler.JGT;
import static io.loadshare.offload.bpf.BpfAssembler.JNE;
import static io.loadshare.offload.bpf.BpfAssembler.LSH;
import static io.loadshare.offload.bpf.BpfAssembler.MAP_UPDATE_ELEM;
import static io.loadshare.offload.bpf.BpfAssembler.MUL;
import static io.loadshare.offload.bpf.BpfAssembler.OR;
import static io.loadshare.offload.bpf.BpfAssembler.RINGBUF_OUTPUT;
import static io.loadshare.offload.bpf.BpfAssembler.RSH;
import static io.loadshare.offload.bpf.BpfAssembler.XOR;
import static io.loadshare.offload.bpf.BpfAssembler.KTIME_GET_NS;
import static io.loadshare.offload.bpf.BpfAssembler.MAP_LOOKUP_ELEM;
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
import static io.loadshare.offload.bpf.BpfAssembler.W;

import io.loadshare.offload.bpf.BpfAssembler;

/**
 * LSMAC's fast path (paper section 3.1, repeated in the kernel): an XDP program that, for an IPv4 TCP or UDP frame
 * of a flow the pipeline handed over, writes the backend's MAC as destination and the dispatcher's as source and
 * transmits the frame back out of the interface ({@code XDP_TX}). Everything else passes to the kernel's stack and
 * so to the raw socket and the pipeline: frames that are not IPv4, IP options, fragments, SYN, FIN or RST, ICMP,
 * unknown flows, and flows whose backend is marked down. With placement, a SYN of a new flow to a service whose
 * Maglev table is published is placed by the program itself ({@link #place}).
 *
 * <p>Its C reference is {@code offload/src/bpf/lsmac_xdp.c}, which {@code BpfReferenceTest} compiles with clang and
 * runs beside this program over the same frames and maps: the same verdicts, the same bytes, the same flows placed.
 * Change both together.
 *
 * Registers: r6 the context, r7 the frame, r8 its end, r9
 * the SYN flag and then the flow's value (the vip's, then the backend's, when placing); the key sits at fp-16, the
 * backend id at fp-20.
 */
final class LsmacXdpProgram {
    static final int XDP_PASS = 2;
    static final int XDP_TX = 3;
    private static final String PASS = "pass";
    private static final int FIN = 0x01;
    private static final int SYN = 0x02;
    private static final int RST = 0x04;
    private static final int ACK = 0x10;
    private static final int NOEXIST = 1;
    /** The session table polls the ring; a wake-up per event would cost an interrupt per new flow. */
    private static final int RB_NO_WAKEUP = 1;
    /** The constants of {@code FlowHashing}: the golden ratio and murmur3's finaliser. */
    private static final long GOLDEN = 0x9E37_79B9_7F4A_7C15L;
    private static final long MIX_1 = 0xFF51_AFD7_ED55_8CCDL;
    private static final long MIX_2 = 0xC4CE_B9FE_1A85_EC53L;

    private LsmacXdpProgram() {
    }

    /**
     * The program for one interface whose MAC is {@code dispatcherMac}.
     *
     * @param placement whether the program places new TCP flows itself, by the Maglev tables in {@code maps} (SYN
     *     to a service with a published table, no flow yet: the table's backend, a flow entry, and an event on the
     *     ring for the session table); without it every SYN goes to the pipeline
     */
    static long[] assemble(FastPathMaps maps, long dispatcherMac, boolean placement) {
        BpfAssembler a = new BpfAssembler();
        a.mov(R6, R1)
                .load(W, R7, R6, 0)
                .load(W, R8, R6, 4)
                .mov(R1, R7).aluImm(ADD, R1, 42).jump(JGT, R1, R8, PASS)
                // Loads are little-endian: the bytes 08 00 read as 0x0008, the mask 3f ff as 0xff3f.
                .load(H, R1, R7, 12).jumpImm(JNE, R1, 0x0008, PASS)
                .load(B, R1, R7, 14).jumpImm(JNE, R1, 0x45, PASS)
                .load(H, R1, R7, 20).aluImm(AND, R1, 0xff3f).jumpImm(JNE, R1, 0, PASS)
                // From here r9 says whether the frame is a SYN to place.
                .movImm(R9, 0)
                .load(B, R1, R7, 23).jumpImm(JEQ, R1, 17, "key").jumpImm(JNE, R1, 6, PASS)
                .mov(R2, R7).aluImm(ADD, R2, 54).jump(JGT, R2, R8, PASS)
                .load(B, R2, R7, 47)
                .mov(R3, R2).aluImm(AND, R3, FIN | RST).jumpImm(JNE, R3, 0, PASS)
                .mov(R3, R2).aluImm(AND, R3, SYN).jumpImm(JEQ, R3, 0, "key")
                .mov(R3, R2).aluImm(AND, R3, ACK).jumpImm(JNE, R3, 0, PASS);
        if (placement) {
            a.movImm(R9, 1);
        } else {
            a.jump(PASS);
        }
        a.label("key")
                .store(W, R10, -4, R1)
                .load(W, R2, R7, 26).store(W, R10, -16, R2)
                .load(W, R2, R7, 30).store(W, R10, -12, R2)
                .load(W, R2, R7, 34).store(W, R10, -8, R2)
                .loadMap(R1, maps.flows()).mov(R2, R10).aluImm(ADD, R2, -16).call(MAP_LOOKUP_ELEM);
        if (placement) {
            a.jumpImm(JNE, R9, 0, "place");
        }
        a.jumpImm(JEQ, R0, 0, PASS)
                .mov(R9, R0)
                .load(W, R1, R9, FastPathMaps.FLOW_BACKEND).store(W, R10, -20, R1)
                .loadMap(R1, maps.backends()).mov(R2, R10).aluImm(ADD, R2, -20).call(MAP_LOOKUP_ELEM)
                .jumpImm(JEQ, R0, 0, PASS)
                .load(B, R1, R0, FastPathMaps.BACKEND_UP).jumpImm(JEQ, R1, 0, PASS);
        rewrite(a, R0, dispatcherMac);
        a.call(KTIME_GET_NS).store(DW, R9, FastPathMaps.FLOW_LAST_SEEN, R0);
        countAndTransmit(a, maps, "");
        if (placement) {
            place(a, maps, dispatcherMac);
        }
        a.label(PASS).movImm(R0, XDP_PASS).exit();
        return a.assemble();
    }

    /**
     * A SYN of a flow the map does not hold, to a service whose Maglev table is published: the backend is
     * {@code table[offset + (flowHash × size) >>> 32]}, with {@code Flow.flowHash()} computed as the pipeline
     * computes it (murmur3's finaliser over the addresses and the ports), so kernel and pipeline agree on every
     * flow. The event goes on the ring before the flow enters the map: a full ring leaves the SYN to the pipeline.
     * Stack: vip key at fp-24, table key at fp-28, event at fp-56 (flow key, backend id, service index), flow
     * value at fp-72.
     */
    private static void place(BpfAssembler a, FastPathMaps maps, long dispatcherMac) {
        a.label("place")
                .jumpImm(JNE, R0, 0, PASS)
                .load(W, R1, R7, 30).store(W, R10, -24, R1)
                .load(H, R1, R7, 36).store(H, R10, -20, R1)
                .movImm(R1, 6).store(H, R10, -18, R1)
                .loadMap(R1, maps.vips()).mov(R2, R10).aluImm(ADD, R2, -24).call(MAP_LOOKUP_ELEM)
                .jumpImm(JEQ, R0, 0, PASS)
                .mov(R9, R0)
                // addresses = source << 32 | destination; ports = protocol << 32 | source port << 16 | port
                .load(W, R1, R7, 26).toBigEndian(R1, 32).aluImm(LSH, R1, 32)
                .load(W, R2, R7, 30).toBigEndian(R2, 32).alu(OR, R1, R2)
                .load(H, R3, R7, 34).toBigEndian(R3, 16).aluImm(LSH, R3, 16)
                .load(H, R4, R7, 36).toBigEndian(R4, 16).alu(OR, R3, R4)
                .movImm(R4, 6).aluImm(LSH, R4, 32).alu(OR, R3, R4);
        mix(a, R3);
        a.movImm64(R5, GOLDEN).alu(MUL, R1, R5).alu(ADD, R1, R3);
        mix(a, R1);
        a.aluImm(LSH, R1, 32).aluImm(RSH, R1, 32)
                .load(W, R2, R9, FastPathMaps.VIP_SIZE).alu(MUL, R1, R2).aluImm(RSH, R1, 32)
                .load(W, R2, R9, FastPathMaps.VIP_OFFSET).alu(ADD, R1, R2)
                .store(W, R10, -28, R1)
                .load(W, R2, R9, FastPathMaps.VIP_SERVICE).store(W, R10, -36, R2)
                .loadMap(R1, maps.maglev()).mov(R2, R10).aluImm(ADD, R2, -28).call(MAP_LOOKUP_ELEM)
                .jumpImm(JEQ, R0, 0, PASS)
                .load(W, R1, R0, 0).store(W, R10, -40, R1).store(W, R10, -20, R1)
                .load(DW, R2, R10, -16).store(DW, R10, -56, R2)
                .load(DW, R2, R10, -8).store(DW, R10, -48, R2)
                .loadMap(R1, maps.backends()).mov(R2, R10).aluImm(ADD, R2, -20).call(MAP_LOOKUP_ELEM)
                .jumpImm(JEQ, R0, 0, PASS)
                .load(B, R1, R0, FastPathMaps.BACKEND_UP).jumpImm(JEQ, R1, 0, PASS)
                .mov(R9, R0)
                .loadMap(R1, maps.ring()).mov(R2, R10).aluImm(ADD, R2, -56).movImm(R3, FastPathMaps.EVENT_SIZE)
                .movImm(R4, RB_NO_WAKEUP).call(RINGBUF_OUTPUT)
                .jumpImm(JNE, R0, 0, PASS)
                .load(W, R1, R10, -40).store(DW, R10, -72, R1)
                // Not carried yet: a SYN alone opens nothing, so the session's idleness stays the table's own.
                .movImm(R1, 0).store(DW, R10, -64, R1)
                .loadMap(R1, maps.flows()).mov(R2, R10).aluImm(ADD, R2, -16).mov(R3, R10).aluImm(ADD, R3, -72)
                .movImm(R4, NOEXIST).call(MAP_UPDATE_ELEM);
        rewrite(a, R9, dispatcherMac);
        countAndTransmit(a, maps, "placed");
    }

    /** {@code z ^= z >>> 33; z *= C1; z ^= z >>> 33; z *= C2; z ^= z >>> 33}, with r4 and r5 as scratch. */
    private static void mix(BpfAssembler a, int z) {
        a.mov(R4, z).aluImm(RSH, R4, 33).alu(XOR, z, R4).movImm64(R5, MIX_1).alu(MUL, z, R5)
                .mov(R4, z).aluImm(RSH, R4, 33).alu(XOR, z, R4).movImm64(R5, MIX_2).alu(MUL, z, R5)
                .mov(R4, z).aluImm(RSH, R4, 33).alu(XOR, z, R4);
    }

    /** Destination MAC from the backend entry {@code entry} points at, source MAC the dispatcher's. */
    private static void rewrite(BpfAssembler a, int entry, long dispatcherMac) {
        a.load(W, R1, entry, 0).store(W, R7, 0, R1)
                .load(H, R1, entry, 4).store(H, R7, 4, R1)
                .movImm(R1, (int) littleEndian(dispatcherMac >>> 16, 4)).store(W, R7, 6, R1)
                .movImm(R1, (int) littleEndian(dispatcherMac, 2)).store(H, R7, 10, R1);
    }

    /** Counts the frame for the backend whose id is at fp-20, and transmits it. */
    private static void countAndTransmit(BpfAssembler a, FastPathMaps maps, String suffix) {
        a.loadMap(R1, maps.stats()).mov(R2, R10).aluImm(ADD, R2, -20).call(MAP_LOOKUP_ELEM)
                .jumpImm(JEQ, R0, 0, "transmit" + suffix)
                .load(DW, R1, R0, 0).aluImm(ADD, R1, 1).store(DW, R0, 0, R1)
                .load(H, R1, R7, 16).toBigEndian(R1, 16).aluImm(ADD, R1, 14)
                .load(DW, R2, R0, 8).alu(ADD, R2, R1).store(DW, R0, 8, R2)
                .label("transmit" + suffix)
                .movImm(R0, XDP_TX).exit();
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
