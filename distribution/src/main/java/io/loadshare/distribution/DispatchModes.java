package io.loadshare.distribution;

import io.loadshare.core.mode.DispatchMode;
import io.loadshare.dispatch.l2.L2Dispatcher;
import io.loadshare.dispatch.l2.L2Service;
import io.loadshare.dispatch.l3.L3Dispatcher;
import io.loadshare.dispatch.l3.L3Service;
import java.util.Map;

/** Builds the {@link DispatchMode} a configuration names: the one place that knows every mode. */
final class DispatchModes {
    private DispatchModes() {
    }

    /**
     * @param workers event loops, each with its own session table
     * @param pinnedMacs backends' MACs given rather than resolved by ARP (replaying a capture); empty to resolve
     */
    static DispatchMode build(DispatcherConfig config, int workers, Map<Integer, Long> pinnedMacs) {
        return switch (config.mode()) {
            case L2 -> {
                L2Dispatcher.Builder builder = L2Dispatcher.builder().coreSettings(config.core())
                        .settings(config.l2()).workers(workers);
                for (DispatcherConfig.ServiceConfig s : config.services()) {
                    builder.service(new L2Service(s.name(), s.address(), s.protocol(), s.port(), s.scheduler(),
                            s.schedulerSettings(), s.backends(), s.persistence()));
                }
                pinnedMacs.forEach(builder::pinBackendMac);
                yield builder.build();
            }
            case L3, L3_FULLNAT -> {
                L3Dispatcher.Builder builder = L3Dispatcher.builder().coreSettings(config.core())
                        .settings(config.l3()).workers(workers);
                for (DispatcherConfig.ServiceConfig s : config.services()) {
                    builder.service(new L3Service(s.name(), s.address(), s.protocol(), s.port(), s.backendPort(),
                            s.scheduler(), s.schedulerSettings(), s.backends(), s.sourceNatAddress(), s.gateway(),
                            s.persistence()));
                }
                pinnedMacs.forEach(builder::pinBackendMac);
                yield builder.build();
            }
        };
    }
}
