// Linked into tests whose gRPC calls fail a TLS handshake: tells LeakSanitizer to ignore
// memory that OpenSSL's libcrypto allocated.
//
// OpenSSL 3 keeps a thread's error queue (904 bytes) in thread-local storage and frees it
// only when that thread calls OPENSSL_thread_stop(). A refused handshake records errors
// on one of gRPC's threads, which ends without that call, so about one run in six of such a
// test reported the queue as leaked at exit. libcrypto is built without frame pointers, so
// the report cannot name more than the allocator (CRYPTO_zalloc); the suppression is
// therefore the whole library, and only in the binaries this is linked into.

extern "C" const char* __lsan_default_suppressions() { return "leak:libcrypto.so\n"; }
