package io.loadshare.dispatch.l3;

import io.loadshare.core.mode.Arm;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.metrics.DropReason;
import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.transport.rawsocket.FanoutSteering;
import io.loadshare.transport.rawsocket.RawSocketAddress;
import io.loadshare.transport.rawsocket.RawSocketChannel;
import io.loadshare.transport.rawsocket.RawSocketChannelOption;
import io.loadshare.transport.rawsocket.SocketFilter;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.util.concurrent.EventExecutor;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Two workers assembled in code as docs/pipeline.md shows: one-armed LSNAT, each worker's channel in one fanout
 * group steered by the dispatcher's addresses. Every request is answered, both workers serve, and no reply reaches
 * a worker that does not hold its session.
 */
class LsnatWorkersTest {
    @Test
    void bothDirectionsOfEveryFlowMeetOneWorker() throws Exception {
        try (LsnatTestbed bed = new LsnatTestbed(3, true, true)) {
            L3Dispatcher lsnat = L3Dispatcher.builder().workers(2)
                    .service(L3Service.of("web", "198.51.100.10", 80, "round-robin", "192.0.2.11", "192.0.2.12",
                            "192.0.2.13"))
                    .build();
            L3Dispatcher.checkForwarding(NetworkNamespace.named(bed.dispatcher));
            FanoutSteering steering = FanoutSteering.builder().requestsTo(lsnat.clusterAddresses())
                    .portSlicesOf(lsnat.sourceNatAddresses()).build();
            EventLoopGroup loops = new MultiThreadIoEventLoopGroup(2, EpollIoHandler.newFactory());
            try {
                int group = RawSocketChannel.NEW_FANOUT_GROUP;
                Iterator<EventExecutor> loop = loops.iterator();
                for (int w = 0; w < 2; w++) {
                    RawSocketChannel channel = (RawSocketChannel) new Bootstrap().group((EventLoop) loop.next())
                            .channelFactory(() -> new RawSocketChannel(NetworkNamespace.named(bed.dispatcher)))
                            // The first worker answers ARP for the addresses: it needs the broadcasts.
                            .option(RawSocketChannelOption.SOCKET_FILTER,
                                    SocketFilter.builder().acceptBroadcast(true).build())
                            .option(RawSocketChannelOption.FANOUT_GROUP, group)
                            .option(RawSocketChannelOption.FANOUT_STEERING, steering)
                            .handler(lsnat.initializer(w, Arm.BOTH))
                            .bind(new RawSocketAddress("d0")).sync().channel();
                    group = channel.fanoutGroup();
                }
                LsnatTwoArmedTest.awaitPool(lsnat.services().getFirst(), pool -> pool.availableCount() == 3);
                List<String> answers = bed.requests("http://198.51.100.10/", 120);
                assertEquals(120, answers.stream().filter(a -> a.matches("b[123]")).count(), "answers " + answers);
                for (DispatchContext worker : lsnat.contexts()) {
                    long[] figures = worker.eventLoop().submit(() -> {
                        long opened = 0;
                        for (int id = 0; id <= worker.counters().maxBackendId(); id++) {
                            opened += worker.counters().sessionsOpened(id);
                        }
                        return new long[] {opened, worker.counters().drops(DropReason.NO_SESSION)};
                    }).get(5, TimeUnit.SECONDS);
                    assertTrue(figures[0] > 0, "each worker serves flows: " + figures[0]);
                    assertEquals(0, figures[1], "no frame reached a worker without its session");
                }
            } finally {
                loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
            }
        }
    }
}
