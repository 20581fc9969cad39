/// What a store tells about its servers as it goes, for metrics. Servers are by their index in
/// `MemcachedOptions.servers`. Called on the request's own thread, outside any lock; must be quick.
public protocol StoreEvents: AnyObject, Sendable {
    /// An operation on server `server` got no answer (down, hung, broken connection).
    func failed(server: Int)
    /// Server `server` was ejected: left alone by this process for the retry timeout.
    func ejected(server: Int)
}
