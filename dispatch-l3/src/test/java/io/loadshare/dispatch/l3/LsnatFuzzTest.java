package io.loadshare.dispatch.l3;

import io.loadshare.core.mode.Arm;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.config.CoreSettings;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.testing.FrameFuzzer;
import io.loadshare.core.testing.PipelineFuzz;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Random and mutated frames through the LSNAT pipeline (one-armed, a plain and a full-NAT service on a small
 * table, so that it fills, evicts and expires): nothing throws, nothing leaks, every frame is forwarded or counted.
 * {@code -Dloadshare.fuzz.frames=10000000} runs the long version.
 */
class LsnatFuzzTest {
    private static final long FRAMES = Long.getLong("loadshare.fuzz.frames", 200_000);
    /**
     * Input frames outside the leak detector: it would record a trace per access of every frame, and the harness
     * checks each input's release itself. What the pipeline allocates stays tracked.
     */
    private static final ByteBufAllocator FUZZ_INPUT = new UnpooledByteBufAllocator(true, true);

    @Test
    void noFrameThrowsLeaksOrGoesUncounted() throws Exception {
        L3Dispatcher lsnat = L3Dispatcher.builder()
                .coreSettings(CoreSettings.from(com.typesafe.config.ConfigFactory.parseString(
                        "io.loadshare.core.session { max-sessions = 4096, tcp-linger = 300ms, sweep-interval = 100ms,"
                                + " sweep-cycle = 400ms }")))
                .service(L3Service.of("web", "198.51.100.10", 80, "round-robin", "192.0.2.11", "192.0.2.12"))
                .service(L3Service.of("nat", "198.51.100.11", 80, "least-connections", "192.0.2.11", "192.0.2.12")
                        .withSourceNat("192.0.2.2"))
                .settings(new L3Settings(Duration.ofMillis(100), 3, 0, 1000, 50))
                .build();
        LsnatHarness.MacChannel channel = new LsnatHarness.MacChannel(lsnat.initializer(Arm.BOTH));
        try {
            LsnatHarness.bringUp(channel, lsnat, "192.0.2.11", "192.0.2.12");
            FrameFuzzer fuzzer = new FrameFuzzer(20261202, FUZZ_INPUT,
                    List.of(Ipv4Address.parse("198.51.100.10"), Ipv4Address.parse("198.51.100.11"),
                            Ipv4Address.parse("192.0.2.2")),
                    List.of(Ipv4Address.parse("192.0.2.11"), Ipv4Address.parse("192.0.2.12")), 80);
            PipelineFuzz.Result result = PipelineFuzz.run(channel, fuzzer, FRAMES,
                    () -> lsnat.context().counters().totalDrops());
            System.out.println(result.describe("LSNAT", lsnat.context().counters().dropsByReason()));
            assertTrue(result.forwarded() > FRAMES / 50, "the seeds reach the backends: " + result);
        } finally {
            channel.finishAndReleaseAll();
        }
    }
}
