package io.tessera.engine;

/** A request the engine cannot serve (too long for the context or the cache, bad parameters). */
public final class RequestRejectedException extends IllegalArgumentException {

    public RequestRejectedException(String message) {
        super(message);
    }
}
