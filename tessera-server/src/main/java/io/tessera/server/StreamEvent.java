package io.tessera.server;

import io.tessera.engine.RequestOutput;

/**
 * An output delta of the job's prompt {@code prompt}; {@code out == null} marks the end of that
 * prompt's stream, with the failure that ended it if any.
 */
record StreamEvent(int prompt, RequestOutput out, RuntimeException failure) {
}
