package io.loadshare.core.testing;

import com.google.common.base.Ticker;
import com.typesafe.config.ConfigFactory;
import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.backend.BackendState;
import io.loadshare.core.config.CoreSettings;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.pipeline.DispatchPipeline;
import io.loadshare.core.pipeline.Service;
import io.loadshare.core.pipeline.ServiceTable;
import io.loadshare.core.scheduler.SchedulerRegistry;
import io.loadshare.core.session.Persistence;
import io.netty.channel.ChannelHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * A dispatch pipeline on an {@link EmbeddedChannel} with a hand-driven clock: one TCP service on
 * 192.0.2.10:80 and one UDP service on 192.0.2.10:53, each over three backends 192.0.2.21..23 (ids 1..3).
 */
public final class PipelineHarness implements AutoCloseable {
    public static final int CLIENT = Ipv4Address.parse("203.0.113.5");
    public static final int VIP = Ipv4Address.parse("192.0.2.10");
    public static final int BACKEND_BASE = Ipv4Address.parse("192.0.2.20");

    public final AtomicLong nanos = new AtomicLong();
    public final Service web;
    public final Service dns;
    public final DispatchContext context;
    public final EmbeddedChannel channel;

    public PipelineHarness(String coreOverrides, Function<DispatchContext, ChannelHandler> rewriter) {
        this(coreOverrides, rewriter, null);
    }

    /** @param webPersistence how the TCP service's clients stick to their backend, or null */
    public PipelineHarness(String coreOverrides, Function<DispatchContext, ChannelHandler> rewriter,
            Persistence webPersistence) {
        CoreSettings settings = CoreSettings.from(ConfigFactory.parseString(coreOverrides));
        SchedulerRegistry registry = SchedulerRegistry.load();
        BackendPool pool = BackendPool.of(backends(3));
        web = new Service(0, "web", VIP, IpProtocol.TCP, 80,
                () -> registry.create(CyclingSchedulerFactory.NAME, ConfigFactory.empty()), pool, webPersistence);
        dns = new Service(1, "dns", VIP, IpProtocol.UDP, 53,
                () -> registry.create(CyclingSchedulerFactory.NAME, ConfigFactory.empty()), pool);
        Ticker ticker = new Ticker() {
            @Override
            public long read() {
                return nanos.get();
            }
        };
        context = new DispatchContext(settings, new ServiceTable(List.of(web, dns)), ticker);
        channel = new EmbeddedChannel();
        DispatchPipeline.install(channel.pipeline(), context, rewriter.apply(context));
    }

    /** Backends 1..n at 192.0.2.21.., MAC 02:00:00:00:01:0n, weight 1, active. */
    public static List<Backend> backends(int n) {
        List<Backend> list = new ArrayList<>();
        for (int id = 1; id <= n; id++) {
            list.add(new Backend(id, BACKEND_BASE + id, 0, 0x0200_0000_0100L + id, 1, BackendState.ACTIVE));
        }
        return list;
    }

    public void advance(long millis) {
        nanos.addAndGet(TimeUnit.MILLISECONDS.toNanos(millis));
    }

    @Override
    public void close() {
        channel.finishAndReleaseAll();
    }
}
