package io.tessera.core.sampling;

/**
 * Ranks tokens by logit without sorting the whole vocabulary. Each token becomes one long key
 * whose natural order is: higher logit first, then lower id; so a partial selection of the k
 * smallest keys is the top k, with ties broken deterministically.
 */
final class Ranking {
    private Ranking() {}

    static long key(float logit, int id) {
        int bits = Float.floatToIntBits(logit);
        int ordered = bits ^ ((bits >> 31) & 0x7FFFFFFF); // monotonic in the float's value
        return ((long) ~ordered << 32) | (id & 0xFFFFFFFFL);  // ~ makes higher logits smaller
    }

    static int id(long key) {
        return (int) key;
    }

    /** Rearranges keys[0, n) so that its k smallest are in [0, k), sorted. */
    static void selectSorted(long[] keys, int n, int k) {
        if (k < n) select(keys, n, k);
        java.util.Arrays.sort(keys, 0, Math.min(k, n));
    }

    /** Quickselect: afterwards keys[0, k) hold the k smallest of keys[0, n), in no order. */
    private static void select(long[] a, int n, int k) {
        int lo = 0;
        int hi = n - 1;
        while (hi > lo) {
            int mid = (lo + hi) >>> 1;
            // Median of three as pivot, against already-sorted input.
            if (a[mid] < a[lo]) swap(a, mid, lo);
            if (a[hi] < a[lo]) swap(a, hi, lo);
            if (a[hi] < a[mid]) swap(a, hi, mid);
            long pivot = a[mid];
            int i = lo;
            int j = hi;
            while (i <= j) {
                while (a[i] < pivot) i++;
                while (a[j] > pivot) j--;
                if (i <= j) swap(a, i++, j--);
            }
            // Now [lo, j] <= pivot <= [i, hi]; continue on the side holding position k - 1.
            if (k - 1 <= j) hi = j;
            else if (k - 1 >= i) lo = i;
            else return;
        }
    }

    private static void swap(long[] a, int i, int j) {
        long t = a[i];
        a[i] = a[j];
        a[j] = t;
    }

    /** Builds a binary min-heap over keys[0, n). */
    static void heapify(long[] a, int n) {
        for (int i = n / 2 - 1; i >= 0; i--) siftDown(a, i, n);
    }

    /** Removes and returns the smallest key of the heap keys[0, n); the heap then has n - 1 keys. */
    static long pop(long[] a, int n) {
        long top = a[0];
        a[0] = a[n - 1];
        siftDown(a, 0, n - 1);
        return top;
    }

    private static void siftDown(long[] a, int i, int n) {
        long v = a[i];
        while (true) {
            int c = 2 * i + 1;
            if (c >= n) break;
            if (c + 1 < n && a[c + 1] < a[c]) c++;
            if (a[c] >= v) break;
            a[i] = a[c];
            i = c;
        }
        a[i] = v;
    }
}
