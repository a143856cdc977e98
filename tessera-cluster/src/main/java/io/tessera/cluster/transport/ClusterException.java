package io.tessera.cluster.transport;

/** A cluster failure: a lost or silent worker, a refused connection, a failed step. */
public class ClusterException extends RuntimeException {

    public ClusterException(String message) {
        super(message);
    }

    public ClusterException(String message, Throwable cause) {
        super(message, cause);
    }
}
