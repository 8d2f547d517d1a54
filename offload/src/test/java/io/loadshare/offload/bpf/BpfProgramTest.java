package io.loadshare.offload.bpf;

import static io.loadshare.offload.bpf.BpfAssembler.R0;
import static io.loadshare.offload.bpf.BpfAssembler.R2;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.testbed.NetnsTestbed;
import org.junit.jupiter.api.Test;

/** The loader's paths: a program the kernel accepts, and one its verifier rejects, whose log reaches the error. */
class BpfProgramTest {
    @Test
    void aRejectedProgramCarriesTheVerifiersLog() throws Exception {
        NetnsTestbed.requireRoot();
        try (BpfProgram pass = BpfProgram.loadXdp("ls_pass", new BpfAssembler().movImm(R0, 2).exit().assemble())) {
            assertEquals(2, pass.testRun(new byte[64]).verdict(), "XDP_PASS");
        }
        // r2 is never written before it is read: the verifier refuses.
        BpfException rejected = assertThrows(BpfException.class, () -> BpfProgram.loadXdp("ls_bad",
                new BpfAssembler().mov(R0, R2).exit().assemble()));
        assertEquals(Bpf.EACCES, rejected.errno());
        assertTrue(rejected.verifierLog().contains("R2 !read_ok"), rejected.verifierLog());
        assertTrue(rejected.getMessage().contains("the kernel's verifier rejected XDP program ls_bad")
                && rejected.getMessage().contains("verifier log:"), rejected.getMessage());
    }
}
