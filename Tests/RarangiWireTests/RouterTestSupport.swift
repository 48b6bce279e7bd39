import RarangiWire

extension Router {
    /// Routes `METHOD target` with an optional body and declared environment.
    func route(_ method: HTTPMethod, _ target: String, _ body: String = "", env: String? = nil) -> Result<Route, HTTPResponse> {
        let parts = target.split(separator: "?", maxSplits: 1)
        return route(HTTPRequest(method: method, path: String(parts[0]), query: parts.count > 1 ? String(parts[1]) : nil,
                                 declaredEnvironment: env, body: Array(body.utf8)))
    }

    /// The catalogue request a request routes to; a status or peer route fails the match.
    func catalogueRoute(_ method: HTTPMethod, _ target: String, _ body: String = "", env: String? = nil) -> Result<CatalogueRequest, HTTPResponse> {
        route(method, target, body, env: env).flatMap { route in
            guard case let .catalogue(request) = route else { return .failure(.error(500, "not_catalogue", "\(route)")) }
            return .success(request)
        }
    }
}
