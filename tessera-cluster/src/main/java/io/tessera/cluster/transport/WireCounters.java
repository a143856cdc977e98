package io.tessera.cluster.transport;

import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/** Bytes and frames sent and received per message type, headers included. */
public final class WireCounters {

    private final Map<MessageType, LongAdder> sentBytes = new EnumMap<>(MessageType.class);
    private final Map<MessageType, LongAdder> sentFrames = new EnumMap<>(MessageType.class);
    private final Map<MessageType, LongAdder> receivedBytes = new EnumMap<>(MessageType.class);

    public WireCounters() {
        for (MessageType t : MessageType.values()) {
            sentBytes.put(t, new LongAdder());
            sentFrames.put(t, new LongAdder());
            receivedBytes.put(t, new LongAdder());
        }
    }

    void sent(MessageType t, int bytes) {
        sentBytes.get(t).add(bytes);
        sentFrames.get(t).increment();
    }

    void received(MessageType t, int bytes) {
        receivedBytes.get(t).add(bytes);
    }

    public long sentBytes(MessageType t) {
        return sentBytes.get(t).sum();
    }

    public long sentFrames(MessageType t) {
        return sentFrames.get(t).sum();
    }

    public long receivedBytes(MessageType t) {
        return receivedBytes.get(t).sum();
    }

    /** Sent bytes by type name, types with no traffic left out. */
    public Map<String, Long> sentByType() {
        Map<String, Long> m = new LinkedHashMap<>();
        for (MessageType t : MessageType.values()) {
            long b = sentBytes(t);
            if (b > 0) {
                m.put(t.name(), b);
            }
        }
        return m;
    }
}
