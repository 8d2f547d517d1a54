package io.loadshare.offload.bpf;

import static io.loadshare.offload.bpf.BpfAssembler.ADD;
import static io.loadshare.offload.bpf.BpfAssembler.H;
import static io.loadshare.offload.bpf.BpfAssembler.JNE;
import static io.loadshare.offload.bpf.BpfAssembler.R0;
import static io.loadshare.offload.bpf.BpfAssembler.R1;
import static io.loadshare.offload.bpf.BpfAssembler.R10;
import static io.loadshare.offload.bpf.BpfAssembler.R2;
import static io.loadshare.offload.bpf.BpfAssembler.R6;
import static io.loadshare.offload.bpf.BpfAssembler.R7;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/**
 * The encoding against what LLVM emits for the same instructions ({@code clang -target bpf -c} and
 * {@code llvm-objdump -d} print each as 8 bytes, here read as the little-endian word the kernel sees).
 */
class BpfAssemblerTest {
    @Test
    void encodesAsLlvmDoes() {
        long[] code = new BpfAssembler()
                .mov(R6, R1)                    // bf 16 00 00 00 00 00 00   r6 = r1
                .load(BpfAssembler.W, R7, R6, 4) // 61 67 04 00 00 00 00 00   r7 = *(u32 *)(r6 + 4)
                .load(H, R1, R7, 12)            // 69 71 0c 00 00 00 00 00   r1 = *(u16 *)(r7 + 12)
                .aluImm(ADD, R2, -16)           // 07 02 00 00 f0 ff ff ff   r2 += -16
                .store(BpfAssembler.W, R10, -4, R1) // 63 1a fc ff 00 00 00 00   *(u32 *)(r10 - 4) = r1
                .toBigEndian(R1, 16)            // dc 01 00 00 10 00 00 00   r1 = be16 r1
                .movImm(R0, 2)                  // b7 00 00 00 02 00 00 00   r0 = 2
                .call(BpfAssembler.KTIME_GET_NS) // 85 00 00 00 05 00 00 00   call 5
                .exit()                         // 95 00 00 00 00 00 00 00   exit
                .assemble();
        assertArrayEquals(new long[] {
            0x00000000_000016bfL, 0x00000000_00046761L, 0x00000000_000c7169L, 0xfffffff0_00000207L,
            0x00000000_fffc1a63L, 0x00000010_000001dcL, 0x00000002_000000b7L, 0x00000005_00000085L,
            0x00000000_00000095L,
        }, code);
    }

    @Test
    void resolvesJumpsForwardAndBack() {
        long[] code = new BpfAssembler()
                .label("top")
                .jumpImm(JNE, R1, 0x45, "out") // 55 01 02 00 45 00 00 00   if r1 != 0x45 goto +2
                .movImm(R0, 1)
                .jump("top")                   // 05 00 fd ff 00 00 00 00   goto -3
                .label("out")
                .exit()
                .assemble();
        assertEquals(0x00000045_00020155L, code[0]);
        assertEquals(0x00000000_fffd0005L, code[2]);
    }

    @Test
    void refusesUnboundAndDoubleLabels() {
        assertThrows(IllegalStateException.class, () -> new BpfAssembler().jump("nowhere").exit().assemble());
        assertThrows(IllegalStateException.class, () -> new BpfAssembler().label("a").label("a"));
    }
}
