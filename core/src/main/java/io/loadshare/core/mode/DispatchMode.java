package io.loadshare.core.mode;

import com.typesafe.config.Config;
import io.loadshare.core.backend.StaticBackend;
import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.pipeline.Service;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.util.concurrent.Future;
import java.io.IOException;
import java.util.List;

/**
 * A dispatch method, built and ready to serve channels: LSMAC ({@code L2Dispatcher}) and LSNAT
 * ({@code L3Dispatcher}) implement it, and so would a third. It owns the data plane's state, its services and one
 * {@link DispatchContext} per worker (an event loop with its own session table); a dispatcher, in code or the
 * packaged one, binds channels to it and drives its lifecycle without knowing which method it runs.
 *
 * <p>The contract:
 * <ul>
 *   <li>A worker is an event loop. Every channel of worker {@code w} (its data channel on each arm, and for worker
 *       0 the ARP channels) is registered on one loop, so the context needs no locks; the mode refuses otherwise.
 *   <li>{@link #initializer} pipelines carry the data: decode → classify → schedule → rewrite → emit. Worker 0's
 *       also start what runs once per dispatcher (backend discovery and liveness), and its context is where
 *       control events are counted. Each initializer serves one channel.
 *   <li>{@link #arpInitializer} pipelines take ARP alone, on a socket of their own beside worker 0's data socket, so
 *       that no flood of data can bury the replies that keep backends up. Give the data socket a filter without
 *       ARP.
 *   <li>With several workers, each interface's data sockets form one fanout group; the kernel steers a request by
 *       its client side when it goes to one of {@link #clusterAddresses}, and a reply to one of
 *       {@link #sourceNatAddresses} by its destination port's slice, so that both directions of a flow meet in
 *       one worker.
 *   <li>Control-plane calls ({@link #reconfigure}) may come from any thread; the mode applies them on each
 *       worker's loop through atomically swapped snapshots.
 * </ul>
 */
public interface DispatchMode {
    /** The mode's name in logs and status ({@code lsmac}, {@code lsnat}). */
    String name();

    /** The arms this mode serves: {@code [BOTH]} on one interface, or {@code [CLIENT, BACKEND]} on two. */
    List<Arm> arms(boolean twoInterfaces);

    /** The pipeline of worker {@code worker}'s data channel on {@code arm}; a new initializer for one channel. */
    ChannelInitializer<Channel> initializer(int worker, Arm arm);

    /** The pipeline of the first worker's channel on {@code arm} that receives only ARP. */
    ChannelInitializer<Channel> arpInitializer(Arm arm);

    /**
     * The IPv4 destinations a kernel filter may restrict {@code arm}'s data socket to, so that nothing else is
     * copied up; empty when the arm needs every frame (it carries replies, or answers for addresses).
     */
    List<Integer> destinations(Arm arm);

    /** Whether the mode answers ARP requests on {@code arm}, so that its ARP socket must take broadcasts. */
    boolean answersArp(Arm arm);

    /** The addresses whose requests a fanout group steers by their client side. */
    List<Integer> clusterAddresses();

    /** The addresses whose replies a fanout group steers by their destination port's slice (full NAT). */
    List<Integer> sourceNatAddresses();

    /** The in-kernel hook where this mode's fast path runs. */
    FastPathHook fastPathHook();

    /**
     * Refuses a host set-up in which the kernel would interfere with the mode.
     *
     * @param namespace where the interfaces live, or null for this process's namespace
     * @throws IllegalStateException saying what to change
     */
    default void checkHost(NetworkNamespace namespace) throws IOException {
    }

    /** The first worker's data-plane state, where control events are counted. */
    default DispatchContext context() {
        return contexts().getFirst();
    }

    /** Every worker's data-plane state, in worker order. */
    List<DispatchContext> contexts();

    /** The services, in configuration order, with their current pools. */
    List<Service> services();

    /**
     * Applies a reload of one service on every worker's loop: the static backends (new ones join once resolved,
     * dropped ones drain until their last session ends) and, unless {@code scheduler} is null, a new scheduler.
     *
     * @return completes once every loop has applied it
     */
    Future<?> reconfigure(int serviceIndex, List<StaticBackend> backends, String scheduler, Config schedulerSettings);

    /** Where a mode's fast path runs: the hook decides what a raw socket still sees of the flows it carries. */
    enum FastPathHook {
        /** Before the raw-socket taps: a frame the program transmits never reaches the socket. */
        XDP,
        /** After the taps (tcx ingress): a socket for every protocol has copied the frame before it is redirected. */
        TC
    }
}
