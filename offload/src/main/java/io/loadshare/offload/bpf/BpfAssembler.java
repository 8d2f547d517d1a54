package io.loadshare.offload.bpf;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes eBPF instructions in Java, so that no compiler is needed to build or run loadshare: the encoding of
 * {@code linux/bpf.h} and the kernel's {@code Documentation/bpf/standardization/instruction-set.rst}, with named
 * labels for jumps. Each instruction is one 64-bit word: opcode (8 bits), destination and source registers (4 bits
 * each), offset (16) and immediate (32), little-endian as the kernel reads them on x86-64 and arm64.
 */
public final class BpfAssembler {
    public static final int R0 = 0;
    public static final int R1 = 1;
    public static final int R2 = 2;
    public static final int R3 = 3;
    public static final int R4 = 4;
    public static final int R5 = 5;
    public static final int R6 = 6;
    public static final int R7 = 7;
    public static final int R8 = 8;
    public static final int R9 = 9;
    /** The read-only frame pointer: the stack is the 512 bytes below it. */
    public static final int R10 = 10;

    /** Access sizes. */
    public static final int W = 0x00;
    public static final int H = 0x08;
    public static final int B = 0x10;
    public static final int DW = 0x18;

    /** ALU operations. */
    public static final int ADD = 0x00;
    public static final int SUB = 0x10;
    public static final int MUL = 0x20;
    public static final int OR = 0x40;
    public static final int AND = 0x50;
    public static final int LSH = 0x60;
    public static final int RSH = 0x70;
    public static final int XOR = 0xa0;

    /** Jump conditions. */
    public static final int JEQ = 0x10;
    public static final int JGT = 0x20;
    public static final int JGE = 0x30;
    public static final int JSET = 0x40;
    public static final int JNE = 0x50;
    public static final int JLT = 0xa0;

    /** Helper functions ({@code enum bpf_func_id}). */
    public static final int MAP_LOOKUP_ELEM = 1;
    public static final int MAP_UPDATE_ELEM = 2;
    public static final int KTIME_GET_NS = 5;
    public static final int L3_CSUM_REPLACE = 10;
    public static final int L4_CSUM_REPLACE = 11;
    public static final int REDIRECT = 23;
    public static final int CHECK_MTU = 163;
    public static final int RINGBUF_OUTPUT = 130;

    private static final int CLASS_LD = 0x00;
    private static final int CLASS_LDX = 0x01;
    private static final int CLASS_STX = 0x03;
    private static final int CLASS_ALU = 0x04;
    private static final int CLASS_JMP = 0x05;
    private static final int CLASS_ALU64 = 0x07;
    private static final int MODE_IMM = 0x00;
    private static final int MODE_MEM = 0x60;
    private static final int SOURCE_K = 0x00;
    private static final int SOURCE_X = 0x08;
    private static final int MOV = 0xb0;
    private static final int END = 0xd0;
    private static final int TO_BE = 0x08;
    private static final int CALL = 0x80;
    private static final int EXIT = 0x90;
    private static final int PSEUDO_MAP_FD = 1;

    private final List<Long> code = new ArrayList<>();
    private final Map<String, Integer> labels = new HashMap<>();
    private final List<Fixup> fixups = new ArrayList<>();

    private record Fixup(int index, String label) {
    }

    /** {@code dst = src} (64 bits). */
    public BpfAssembler mov(int dst, int src) {
        return emit(CLASS_ALU64 | MOV | SOURCE_X, dst, src, 0, 0);
    }

    /** {@code dst = imm} (sign-extended to 64 bits). */
    public BpfAssembler movImm(int dst, int imm) {
        return emit(CLASS_ALU64 | MOV | SOURCE_K, dst, 0, 0, imm);
    }

    /** {@code dst op= imm} (64 bits). */
    public BpfAssembler aluImm(int op, int dst, int imm) {
        return emit(CLASS_ALU64 | op | SOURCE_K, dst, 0, 0, imm);
    }

    /** {@code dst op= src} (64 bits). */
    public BpfAssembler alu(int op, int dst, int src) {
        return emit(CLASS_ALU64 | op | SOURCE_X, dst, src, 0, 0);
    }

    /** {@code dst = htobe(bits)(dst)}: to network order, upper bits cleared. */
    public BpfAssembler toBigEndian(int dst, int bits) {
        return emit(CLASS_ALU | END | TO_BE, dst, 0, 0, bits);
    }

    /** {@code dst = *(size *)(src + off)}. */
    public BpfAssembler load(int size, int dst, int src, int off) {
        return emit(CLASS_LDX | MODE_MEM | size, dst, src, off, 0);
    }

    /** {@code *(size *)(dst + off) = src}. */
    public BpfAssembler store(int size, int dst, int off, int src) {
        return emit(CLASS_STX | MODE_MEM | size, dst, src, off, 0);
    }

    /** {@code dst = imm} for a full 64-bit constant (the two-slot load). */
    public BpfAssembler movImm64(int dst, long imm) {
        emit(CLASS_LD | DW | MODE_IMM, dst, 0, 0, (int) imm);
        return emit(0, 0, 0, 0, (int) (imm >>> 32));
    }

    /** {@code dst = map}: the two-slot load the verifier turns into the map's address. */
    public BpfAssembler loadMap(int dst, BpfMap map) {
        emit(CLASS_LD | DW | MODE_IMM, dst, PSEUDO_MAP_FD, 0, map.fd());
        return emit(0, 0, 0, 0, 0);
    }

    /** {@code if (dst op imm) goto label}. */
    public BpfAssembler jumpImm(int op, int dst, int imm, String label) {
        fixups.add(new Fixup(code.size(), label));
        return emit(CLASS_JMP | op | SOURCE_K, dst, 0, 0, imm);
    }

    /** {@code if (dst op src) goto label}. */
    public BpfAssembler jump(int op, int dst, int src, String label) {
        fixups.add(new Fixup(code.size(), label));
        return emit(CLASS_JMP | op | SOURCE_X, dst, src, 0, 0);
    }

    /** {@code goto label}. */
    public BpfAssembler jump(String label) {
        fixups.add(new Fixup(code.size(), label));
        return emit(CLASS_JMP, 0, 0, 0, 0);
    }

    /** Calls a helper; arguments in r1–r5, result in r0, r1–r5 clobbered. */
    public BpfAssembler call(int helper) {
        return emit(CLASS_JMP | CALL, 0, 0, 0, helper);
    }

    public BpfAssembler exit() {
        return emit(CLASS_JMP | EXIT, 0, 0, 0, 0);
    }

    /** Binds a label to the next instruction. */
    public BpfAssembler label(String name) {
        if (labels.putIfAbsent(name, code.size()) != null) {
            throw new IllegalStateException("label " + name + " bound twice");
        }
        return this;
    }

    /** The encoded program, every jump resolved. */
    public long[] assemble() {
        long[] out = new long[code.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = code.get(i);
        }
        for (Fixup fixup : fixups) {
            Integer target = labels.get(fixup.label());
            if (target == null) {
                throw new IllegalStateException("jump to unbound label " + fixup.label());
            }
            int offset = target - fixup.index() - 1;
            if (offset != (short) offset) {
                throw new IllegalStateException("jump to " + fixup.label() + " is out of range");
            }
            out[fixup.index()] = (out[fixup.index()] & ~(0xFFFFL << 16)) | ((long) (offset & 0xFFFF) << 16);
        }
        return out;
    }

    private BpfAssembler emit(int opcode, int dst, int src, int off, int imm) {
        code.add((opcode & 0xFFL) | (long) ((src & 0xF) << 4 | (dst & 0xF)) << 8 | (long) (off & 0xFFFF) << 16
                | (imm & 0xFFFF_FFFFL) << 32);
        return this;
    }
}
