package io.loadshare.scheduler;

import com.typesafe.config.Config;
import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.scheduler.Scheduler;
import io.loadshare.core.scheduler.SchedulerFactory;
import io.loadshare.core.session.Flow;
import java.util.Set;

/**
 * The connection-counting family of IPVS, over the sessions this event loop holds. The available backends sit
 * in a {@link LoadHeap} ordered by cost, so a pick is O(1) and the open/close bookkeeping O(log backends). Among
 * equal costs the heap gives the root, which sinks once its count rises, so ties spread instead of piling on one
 * backend.
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

    private final ActiveSessions active = new ActiveSessions();
    private final LoadHeap heap;

    LeastConnectionsScheduler(Policy policy) {
        this.heap = new LoadHeap(policy, active);
    }

    @Override
    public Backend pick(BackendPool pool, Flow flow) {
        return heap.min(pool);
    }

    @Override
    public void sessionOpened(Backend backend) {
        active.opened(backend);
        heap.changed(backend.id(), true);
    }

    @Override
    public void sessionClosed(int backendId) {
        active.closed(backendId);
        heap.changed(backendId, false);
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
