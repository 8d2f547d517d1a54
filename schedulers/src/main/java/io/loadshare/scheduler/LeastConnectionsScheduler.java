package io.loadshare.scheduler;

import com.typesafe.config.Config;
import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.scheduler.Scheduler;
import io.loadshare.core.scheduler.SchedulerFactory;
import io.loadshare.core.session.Flow;
import java.util.Set;

/**
 * The connection-counting family of IPVS, over the sessions this event loop holds: each pick scans the
 * available backends once (O(backends)) for the lowest cost, starting at a rotating index so that ties spread
 * evenly instead of piling on the first backend.
 */
public final class LeastConnectionsScheduler implements Scheduler {
    /** How a backend's cost is computed from its active sessions A and weight W. */
    enum Policy {
        /** {@code lc}: A. Weights only decide availability. */
        LEAST_CONNECTIONS,
        /** {@code wlc}: A / W. */
        WEIGHTED_LEAST_CONNECTIONS,
        /** {@code sed}: (A + 1) / W, the expected delay if the new session joins the queue. */
        SHORTEST_EXPECTED_DELAY,
        /** {@code nq}: an idle backend (A = 0) if there is one, otherwise as {@code sed}. */
        NEVER_QUEUE
    }

    private final Policy policy;
    private final ActiveSessions active = new ActiveSessions();
    private int rotation;

    LeastConnectionsScheduler(Policy policy) {
        this.policy = policy;
    }

    @Override
    public Backend pick(BackendPool pool, Flow flow) {
        int n = pool.availableCount();
        if (n == 0) {
            return null;
        }
        int start = rotation++;
        if (rotation >= n) {
            rotation = 0;
        }
        Backend best = null;
        long bestLoad = 0;
        long bestWeight = 1;
        for (int k = 0; k < n; k++) {
            int i = start + k;
            Backend candidate = pool.available(i >= n ? i - n : i);
            long load = active.get(candidate.id());
            if (policy == Policy.NEVER_QUEUE && load == 0) {
                return candidate;
            }
            long weight;
            switch (policy) {
                case LEAST_CONNECTIONS -> weight = 1;
                case WEIGHTED_LEAST_CONNECTIONS -> weight = candidate.weight();
                default -> {
                    load++;
                    weight = candidate.weight();
                }
            }
            // load / weight < bestLoad / bestWeight, without division.
            if (best == null || load * bestWeight < bestLoad * weight) {
                best = candidate;
                bestLoad = load;
                bestWeight = weight;
            }
        }
        return best;
    }

    @Override
    public void sessionOpened(Backend backend) {
        active.opened(backend);
    }

    @Override
    public void sessionClosed(int backendId) {
        active.closed(backendId);
    }

    /** The factory of one policy. */
    private abstract static class PolicyFactory implements SchedulerFactory {
        private final String name;
        private final String alias;
        private final Policy policy;

        PolicyFactory(String name, String alias, Policy policy) {
            this.name = name;
            this.alias = alias;
            this.policy = policy;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public Set<String> aliases() {
            return Set.of(alias);
        }

        @Override
        public Scheduler create(Config settings) {
            return new LeastConnectionsScheduler(policy);
        }
    }

    /** Plugin entry: {@code least-connections}, alias {@code lc}. */
    public static final class LeastConnectionsFactory extends PolicyFactory {
        public LeastConnectionsFactory() {
            super("least-connections", "lc", Policy.LEAST_CONNECTIONS);
        }
    }

    /** Plugin entry: {@code weighted-least-connections}, alias {@code wlc}. */
    public static final class WeightedLeastConnectionsFactory extends PolicyFactory {
        public WeightedLeastConnectionsFactory() {
            super("weighted-least-connections", "wlc", Policy.WEIGHTED_LEAST_CONNECTIONS);
        }
    }

    /** Plugin entry: {@code shortest-expected-delay}, alias {@code sed}. */
    public static final class ShortestExpectedDelayFactory extends PolicyFactory {
        public ShortestExpectedDelayFactory() {
            super("shortest-expected-delay", "sed", Policy.SHORTEST_EXPECTED_DELAY);
        }
    }

    /** Plugin entry: {@code never-queue}, alias {@code nq}. */
    public static final class NeverQueueFactory extends PolicyFactory {
        public NeverQueueFactory() {
            super("never-queue", "nq", Policy.NEVER_QUEUE);
        }
    }
}
