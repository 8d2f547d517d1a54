package io.loadshare.dispatch.l2;

import io.loadshare.core.mode.Arm;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.config.CoreSettings;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.testing.FrameFuzzer;
import io.loadshare.core.testing.PipelineFuzz;
import io.loadshare.core.testing.TestFrames;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Random and mutated frames through the LSMAC pipeline (a static pool of two, a small table so that it fills,
 * evicts and expires): nothing throws, nothing leaks, every frame is forwarded or counted.
 * {@code -Dloadshare.fuzz.frames=10000000} runs the long version.
 */
class LsmacFuzzTest {
    private static final long FRAMES = Long.getLong("loadshare.fuzz.frames", 200_000);
    /**
     * Input frames outside the leak detector: it would record a trace per access of every frame, and the harness
     * checks each input's release itself. What the pipeline allocates stays tracked.
     */
    private static final ByteBufAllocator FUZZ_INPUT = new UnpooledByteBufAllocator(true, true);

    @Test
    void noFrameThrowsLeaksOrGoesUncounted() {
        L2Dispatcher lsmac = L2Dispatcher.builder()
                .coreSettings(CoreSettings.from(com.typesafe.config.ConfigFactory.parseString(
                        "io.loadshare.core.session { max-sessions = 4096, tcp-linger = 300ms, sweep-interval = 100ms,"
                                + " sweep-cycle = 400ms }")))
                .service(L2Service.withBackends("web", "198.51.100.10", 80, "round-robin", "192.0.2.11",
                        "192.0.2.12"))
                .service(L2Service.withBackends("mh", "198.51.100.11", 80, "maglev", "192.0.2.11", "192.0.2.12"))
                .dispatcherMac(TestFrames.DISPATCHER_MAC)
                .pinBackendMac(Ipv4Address.parse("192.0.2.11"), TestFrames.BACKEND_MAC)
                .pinBackendMac(Ipv4Address.parse("192.0.2.12"), TestFrames.BACKEND_MAC + 1)
                .build();
        EmbeddedChannel channel = new EmbeddedChannel(lsmac.initializer(Arm.BOTH));
        try {
            channel.runPendingTasks();
            FrameFuzzer fuzzer = new FrameFuzzer(20261203, FUZZ_INPUT,
                    List.of(Ipv4Address.parse("198.51.100.10"), Ipv4Address.parse("198.51.100.11")),
                    List.of(Ipv4Address.parse("192.0.2.11"), Ipv4Address.parse("192.0.2.12")), 80);
            PipelineFuzz.Result result = PipelineFuzz.run(channel, fuzzer, FRAMES,
                    () -> lsmac.context().counters().totalDrops());
            System.out.println(result.describe("LSMAC", lsmac.context().counters().dropsByReason()));
            assertTrue(result.forwarded() > FRAMES / 50, "the seeds reach the backends: " + result);
        } finally {
            channel.finishAndReleaseAll();
        }
    }
}
