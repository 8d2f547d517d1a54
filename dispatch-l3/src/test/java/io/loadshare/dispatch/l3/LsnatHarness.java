package io.loadshare.dispatch.l3;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.packet.ArpHeader;
import io.loadshare.core.packet.Frames;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.pipeline.HardwareAddressed;
import io.loadshare.core.testing.TestFrames;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.concurrent.TimeUnit;

/** LSNAT pipelines on embedded channels that know their MAC, as raw-socket channels do. */
final class LsnatHarness {
    private LsnatHarness() {
    }

    /** An embedded channel with the dispatcher's MAC. */
    static final class MacChannel extends EmbeddedChannel implements HardwareAddressed {
        MacChannel(ChannelHandler handler) {
            super(handler);
        }

        @Override
        public long hardwareAddress() {
            return TestFrames.DISPATCHER_MAC;
        }
    }

    /** Answers the dispatcher's ARP request for each backend and runs rounds until every service has one up. */
    static void bringUp(MacChannel channel, L3Dispatcher lsnat, String... backends) throws InterruptedException {
        channel.runPendingTasks();
        for (String backend : backends) {
            channel.writeInbound(Frames.arp(Unpooled.buffer(), TestFrames.DISPATCHER_MAC, TestFrames.BACKEND_MAC,
                    ArpHeader.REPLY, TestFrames.BACKEND_MAC, Ipv4Address.parse(backend), TestFrames.DISPATCHER_MAC, 0));
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (lsnat.services().stream().anyMatch(s -> s.pool().availableCount() == 0)) {
            channel.advanceTimeBy(100, TimeUnit.MILLISECONDS);
            channel.runScheduledPendingTasks();
            assertTrue(System.nanoTime() < deadline, "backend never came up");
            Thread.sleep(10);
        }
        releaseOutbound(channel);
    }

    static void releaseOutbound(EmbeddedChannel channel) {
        for (Object sent; (sent = channel.readOutbound()) != null; ) {
            ((ByteBuf) sent).release();
        }
    }
}
