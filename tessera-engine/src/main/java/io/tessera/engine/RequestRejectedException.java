package io.tessera.engine;

/**
 * A request the engine cannot serve (too long for the context or the cache, bad parameters), with
 * the request parameter at fault when there is one, so that a server can name its own field.
 */
public class RequestRejectedException extends IllegalArgumentException {

    private final String param;

    public RequestRejectedException(String message) {
        this(null, message);
    }

    public RequestRejectedException(String param, String message) {
        super(message);
        this.param = param;
    }

    /** The parameter at fault ({@code prompt}, {@code max_tokens}, {@code n}), or null. */
    public String param() {
        return param;
    }
}
