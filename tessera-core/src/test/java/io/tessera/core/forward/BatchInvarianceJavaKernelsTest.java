package io.tessera.core.forward;

import io.tessera.core.kernel.Kernels;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** {@link BatchInvarianceTest} on the Java kernels (the suite's default, auto, runs the native ones where they load). */
class BatchInvarianceJavaKernelsTest extends BatchInvarianceTest {

    @BeforeAll
    static void javaKernels() {
        Kernels.use(Kernels.Mode.JAVA);
    }

    @AfterAll
    static void autoKernels() {
        Kernels.use(Kernels.Mode.AUTO);
    }
}
