package io.loadshare.offload;

import io.loadshare.core.mode.DispatchMode;
import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.offload.bpf.BpfException;
import java.util.List;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts the fast path a {@link DispatchMode} asks for ({@link DispatchMode#fastPathHook}): LSMAC's XDP program, or
 * LSNAT's tc program on each arm, shared by every worker.
 */
public final class FastPaths {
    private static final Logger LOG = LoggerFactory.getLogger(FastPaths.class);

    private FastPaths() {
    }

    /**
     * Attaches the fast path as {@code io.loadshare.offload.mode} asks, and hands it to every worker: the first
     * worker's context gets the attached program, each other a view with its own batch over the same maps.
     * {@code auto} falls back to the pipeline alone with one log line saying why, {@code on} refuses to start.
     *
     * @param client the client arm's interface (the only one of a one-armed mode)
     * @param backend the backend arm's; {@code client} itself when there is one interface
     * @param tagged whether the mode serves VLAN-tagged frames, which no program carries
     * @return the attached fast path, or null when every packet goes through the pipeline
     * @throws IllegalStateException when the mode is {@code on} and the fast path cannot start
     */
    public static KernelFlowOffload attach(DispatchMode mode, NetworkNamespace namespace, AttachPoint client,
            AttachPoint backend, boolean tagged, OffloadSettings settings, int maxBackendId)
            throws InterruptedException {
        if (settings.mode() == OffloadSettings.Mode.OFF) {
            return null;
        }
        List<DispatchContext> workers = mode.contexts();
        try {
            if (tagged) {
                throw new IllegalArgumentException("it does not carry VLAN-tagged frames (interfaces.client-vlan,"
                        + " interfaces.backend-vlan)");
            }
            KernelFlowOffload fastPath = switch (mode.fastPathHook()) {
                case XDP -> XdpFlowOffload.attachLsmac(namespace, client, settings, maxBackendId, mode.context());
                case TC -> TcFlowOffload.attachLsnat(namespace, client, backend, settings, maxBackendId,
                        mode.context());
            };
            LOG.info("fast path: {} on {}, up to {} flows", mode.fastPathHook() == DispatchMode.FastPathHook.XDP
                    ? "XDP (" + settings.attach().name().toLowerCase(Locale.ROOT) + " mode)" : "tc (tcx ingress)",
                    fastPath.interfaceName(), settings.maxFlows());
            for (DispatchContext worker : workers) {
                KernelFlowOffload mine = worker == mode.context() ? fastPath : fastPath.forWorker(worker);
                worker.submit(() -> worker.offload(mine)).sync();
            }
            return fastPath;
        } catch (BpfException | IllegalArgumentException e) {
            if (settings.mode() == OffloadSettings.Mode.ON) {
                throw new IllegalStateException(OffloadSettings.ROOT + ".mode = on, but the fast path cannot start: "
                        + e.getMessage(), e);
            }
            LOG.warn("fast path off, every packet goes through the pipeline: {}", e.getMessage().lines().findFirst()
                    .orElse(""));
            return null;
        }
    }
}
