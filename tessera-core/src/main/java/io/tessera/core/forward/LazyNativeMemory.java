package io.tessera.core.forward;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Off-heap memory that is neither zeroed nor touched when allocated: {@code aligned_alloc} from the
 * C library, freed when its arena closes. {@link Arena#allocate} zeroes every byte, which for a KV
 * cache sized to a quarter of the machine's memory meant seconds of start-up and all of it resident
 * at once; here pages become resident only as tokens are written to them (the C library maps large
 * blocks straight from the kernel). The contents start undefined, so only memory that is always
 * written before it is read belongs here. Where the C library has no {@code aligned_alloc} (Windows),
 * it falls back to {@link Arena#allocate}.
 */
final class LazyNativeMemory {

    private static final long ALIGNMENT = 64;
    private static final MethodHandle ALIGNED_ALLOC;
    private static final MethodHandle FREE;

    static {
        Linker linker = Linker.nativeLinker();
        var alloc = linker.defaultLookup().find("aligned_alloc");
        var free = linker.defaultLookup().find("free");
        if (alloc.isPresent() && free.isPresent()) {
            ALIGNED_ALLOC = linker.downcallHandle(alloc.get(),
                    FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
            FREE = linker.downcallHandle(free.get(), FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
        } else {
            ALIGNED_ALLOC = null;
            FREE = null;
        }
    }

    private LazyNativeMemory() {
    }

    /** {@code bytes} of undefined contents, 64-byte aligned, released when {@code arena} closes. */
    static MemorySegment allocate(long bytes, Arena arena) {
        if (ALIGNED_ALLOC == null) {
            return arena.allocate(bytes, ALIGNMENT);
        }
        long size = Math.max(ALIGNMENT, (bytes + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT);
        MemorySegment p;
        try {
            p = (MemorySegment) ALIGNED_ALLOC.invokeExact(ALIGNMENT, size);
        } catch (Throwable t) {
            throw new IllegalStateException("aligned_alloc failed", t);
        }
        if (p.equals(MemorySegment.NULL)) {
            throw new OutOfMemoryError("cannot allocate " + bytes + " bytes of native memory");
        }
        return p.reinterpret(bytes, arena, LazyNativeMemory::free);
    }

    private static void free(MemorySegment p) {
        try {
            FREE.invokeExact(p);
        } catch (Throwable t) {
            throw new IllegalStateException("free failed", t);
        }
    }
}
