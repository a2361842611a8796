#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The OS-level name of the calling thread (15 characters at most on Linux), as `top -H` and gdb
/// show it. Glibc's Swift module does not export the GNU `pthread_setname_np`, so it is looked up
/// at run time; where it is missing the thread simply keeps its inherited name.
enum ThreadName {
    private typealias SetName = @convention(c) (pthread_t, UnsafePointer<CChar>) -> Int32
    private typealias GetName = @convention(c) (pthread_t, UnsafeMutablePointer<CChar>, Int) -> Int32

    private static func symbol<T>(_ name: String, as type: T.Type) -> T? {
        guard let process = dlopen(nil, RTLD_NOW), let pointer = dlsym(process, name) else { return nil }
        return unsafeBitCast(pointer, to: type)
    }

    static func setCurrent(_ name: String) {
        #if canImport(Darwin)
        _ = pthread_setname_np(name)
        return
        #endif
        guard let set = symbol("pthread_setname_np", as: SetName.self) else { return }
        _ = String(name.utf8.prefix(15))!.withCString { set(pthread_self(), $0) }
    }

    static var current: String {
        guard let get = symbol("pthread_getname_np", as: GetName.self) else { return "" }
        var buffer = [CChar](repeating: 0, count: 64)
        _ = get(pthread_self(), &buffer, buffer.count)
        return String(cString: buffer)
    }
}
