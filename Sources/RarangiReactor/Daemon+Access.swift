import RarangiSeal
import RarangiWire

extension Daemon {
    /// The token rules in force: from --token-file and --read-token-required,
    /// replaced on SIGHUP.
    public struct Access: Sendable {
        /// The tokens; nil: every request is open (as without a file).
        public var tokens: AccessTokens?
        /// Whether reads need a token too.
        public var readTokenRequired: Bool
        /// Creates the rules.
        public init(tokens: AccessTokens? = nil, readTokenRequired: Bool = false) {
            self.tokens = tokens
            self.readTokenRequired = readTokenRequired
        }

        /// What a route needs its token to cover, nil when it needs none.
        func scope(of route: Route) -> (AccessTokens.Scope, write: Bool)? {
            switch route {
            case let .catalogue(r):
                switch r {
                case let .register(service, _, _, _), let .hold(service, _, _), let .deregister(service, _):
                    return (.service(service), true)
                case let .lookup(service, _), let .instance(service, _, _), let .watch(service, _, _, _):
                    return readTokenRequired ? (.service(service), false) : nil
                case .services:
                    return readTokenRequired ? (.anyToken, false) : nil
                case .deltas:
                    return readTokenRequired ? (.everything, false) : nil
                }
            case .forget:
                return (.everything, true)
            case .status, .metrics:
                return readTokenRequired ? (.anyToken, false) : nil
            case .targets:
                // Every instance of the services asked for, or of all.
                return readTokenRequired ? (.everything, false) : nil
            case .statusPage:
                // The page is static; what it fetches carries the token.
                return nil
            case let .consul(c):
                switch c {
                case .agentSelf, .datacenters, .services:
                    return readTokenRequired ? (.anyToken, false) : nil
                case let .catalogService(s, _, _), let .healthService(s, _, _):
                    return readTokenRequired ? (.service(s), false) : nil
                case let .register(service, _, _, _):
                    return (.service(service), true)
                case .deregister, .checkPass:
                    // The service is known once the id is looked up: checked then.
                    return (.anyToken, true)
                }
            case .peerUpgrade:
                // Peer links are guarded by the cluster key, not by tokens.
                return nil
            }
        }

        /// The refusal of a request whose head asks to send a body
        /// (`Expect: 100-continue`) that its token does not allow: a PUT
        /// of a service is a write of it.
        func refusal(beforeBodyOf head: HTTPRequest) -> HTTPResponse? {
            guard tokens != nil, head.method == .put else { return nil }
            let segments = head.path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
            guard segments.count == 2, let service = segments.first, !service.hasPrefix("_") else { return nil }
            return refusal(of: .catalogue(.deregister(service: String(service), id: String(segments.last!))), token: head.token)
        }

        /// The refusal of a request whose token does not allow its route,
        /// or nil. Nothing of the request has been applied.
        func refusal(of route: Route, token: String?) -> HTTPResponse? {
            guard let tokens, let (scope, write) = scope(of: route) else { return nil }
            let what: String
            switch scope {
            case let .service(s): what = (write ? "changing" : "reading") + " service '\(s)'"
            case .anyToken: what = "this read"
            case .everything: what = write ? "retiring a daemon" : "reading the whole catalogue"
            }
            let challenge = [("WWW-Authenticate", #"Bearer realm="rarangi""#)]
            switch tokens.authorize(token, scope) {
            case .allowed:
                return nil
            case .missing:
                return .error(401, "token_required",
                              "\(what) needs a token: send Authorization: Bearer TOKEN or X-Rarangi-Token", headers: challenge)
            case .unknown:
                return .error(401, "token_invalid", "the token sent is not one of this daemon's tokens", headers: challenge)
            case .notCovered:
                let pattern = scope == .everything ? "*" : "a pattern that covers it"
                return .error(403, "token_forbidden", "the token does not allow \(what): it needs \(pattern)")
            }
        }
    }
}
