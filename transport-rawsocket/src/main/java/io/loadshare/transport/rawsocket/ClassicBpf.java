package io.loadshare.transport.rawsocket;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A classic BPF program under construction (linux/filter.h), with named labels for its forward jumps, which the
 * kernel limits to 255 instructions. Each instruction is one {@code struct sock_filter}: code (16) | jt (8) | jf (8)
 * in the high 32 bits, k in the low 32.
 */
final class ClassicBpf {
    static final int LD_W_ABS = 0x20;
    static final int LD_H_ABS = 0x28;
    static final int LD_B_ABS = 0x30;
    static final int LD_W_IND = 0x40;
    static final int LD_H_IND = 0x48;
    static final int LD_B_IND = 0x50;
    static final int LD_MEM = 0x60;
    static final int LDX_MEM = 0x61;
    /** X = 4 × (P[k] & 0xf): an IPv4 header's length. */
    static final int LDX_B_MSH = 0xb1;
    static final int ST = 0x02;
    static final int ADD_X = 0x0c;
    static final int MUL_K = 0x24;
    static final int AND_K = 0x54;
    static final int LSH_K = 0x64;
    static final int RSH_K = 0x74;
    static final int XOR_X = 0xac;
    static final int JA = 0x05;
    static final int JEQ_K = 0x15;
    static final int JSET_K = 0x45;
    static final int RET_K = 0x06;
    static final int RET_A = 0x16;
    static final int TAX = 0x07;

    private final List<long[]> code = new ArrayList<>();
    private final List<String[]> jumps = new ArrayList<>();
    private final Map<String, Integer> labels = new HashMap<>();

    /** An instruction without jumps. */
    ClassicBpf op(int code, long k) {
        return jump(code, k, null, null);
    }

    /** A conditional jump: to {@code ifTrue} or {@code ifFalse} (null: the next instruction). */
    ClassicBpf jump(int code, long k, String ifTrue, String ifFalse) {
        this.code.add(new long[] {code, 0, 0, k & 0xFFFF_FFFFL});
        jumps.add(new String[] {ifTrue, ifFalse});
        return this;
    }

    /** An unconditional jump. */
    ClassicBpf jumpTo(String label) {
        code.add(new long[] {JA, 0, 0, 0});
        jumps.add(new String[] {label, null});
        return this;
    }

    /** Names the next instruction. */
    ClassicBpf label(String name) {
        if (labels.putIfAbsent(name, code.size()) != null) {
            throw new IllegalStateException("label " + name + " defined twice");
        }
        return this;
    }

    /** The program's instructions, its labels resolved to relative forward jumps. */
    List<Long> assemble() {
        List<Long> encoded = new ArrayList<>();
        for (int pc = 0; pc < code.size(); pc++) {
            long[] insn = code.get(pc);
            String[] targets = jumps.get(pc);
            if (insn[0] == JA) {
                insn[3] = offset(pc, targets[0]);
            } else {
                insn[1] = targets[0] == null ? 0 : offset(pc, targets[0]);
                insn[2] = targets[1] == null ? 0 : offset(pc, targets[1]);
                if (insn[1] > 255 || insn[2] > 255) {
                    throw new IllegalArgumentException("classic BPF jump too long at instruction " + pc);
                }
            }
            encoded.add(insn[0] << 48 | insn[1] << 40 | insn[2] << 32 | insn[3]);
        }
        if (encoded.isEmpty() || encoded.size() > SocketFilter.MAX_INSTRUCTIONS) {
            throw new IllegalArgumentException("a classic BPF program needs 1.." + SocketFilter.MAX_INSTRUCTIONS
                    + " instructions, got " + encoded.size());
        }
        return List.copyOf(encoded);
    }

    private long offset(int pc, String label) {
        Integer target = labels.get(label);
        if (target == null || target <= pc) {
            throw new IllegalStateException("classic BPF label " + label + " is not after instruction " + pc);
        }
        return target - pc - 1;
    }

    /** A {@code struct sock_fprog} for {@code instructions}, in {@code arena}. */
    static MemorySegment sockFprog(Arena arena, List<Long> instructions) {
        int n = instructions.size();
        MemorySegment program = arena.allocate(8L * n, 8);
        for (int i = 0; i < n; i++) {
            long insn = instructions.get(i);
            program.set(ValueLayout.JAVA_SHORT, 8L * i, (short) (insn >>> 48));
            program.set(ValueLayout.JAVA_BYTE, 8L * i + 2, (byte) (insn >>> 40));
            program.set(ValueLayout.JAVA_BYTE, 8L * i + 3, (byte) (insn >>> 32));
            program.set(ValueLayout.JAVA_INT, 8L * i + 4, (int) insn);
        }
        MemorySegment fprog = arena.allocate(16, 8);
        fprog.set(ValueLayout.JAVA_SHORT, 0, (short) n);
        fprog.set(ValueLayout.ADDRESS, 8, program);
        return fprog;
    }
}
