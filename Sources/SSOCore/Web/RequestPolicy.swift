import FastCGI

/// How the SSO reads a request: its public origin and whether a person or a program sent it.
extension HTTPRequest {
    /// The public origin of this request, from the web server's configuration and never from the client: `SSO_ORIGIN`
    /// when the snippets set it (nginx: `$scheme://$server_name:$server_port`), else the scheme with `SERVER_NAME` and
    /// `SERVER_PORT` (Apache with `UseCanonicalName On`: its `ServerName`). The `Host` header plays no part: with an
    /// absolute request line it can name another site than the one the web server chose.
    public var origin: Origin? {
        if let configured = params["SSO_ORIGIN"], !configured.isEmpty { return Origin(parsing: configured) }
        guard let name = params["SERVER_NAME"], !name.isEmpty else { return nil }
        let port = params["SERVER_PORT"].flatMap { $0.isEmpty ? nil : $0 }
        return Origin(parsing: (isHTTPS ? "https://" : "http://") + name + (port.map { ":" + $0 } ?? ""))
    }

    /// True for API and XHR calls, which get a 401 with JSON instead of a redirect to a sign-in page:
    /// `Accept` prefers JSON, `X-Requested-With` is set, or `Sec-Fetch-Mode` is present and not `navigate`.
    public var isAPIRequest: Bool {
        if header("X-Requested-With") != nil { return true }
        if let mode = header("Sec-Fetch-Mode"), !mode.isEmpty, mode != "navigate" { return true }
        if let accept = header("Accept")?.lowercased() {
            if accept.contains("application/json") && !accept.contains("text/html") { return true }
        }
        return false
    }

    /// True for a page the browser itself opens in a tab: a GET that is no API call and, when the browser says
    /// (`Sec-Fetch-Dest`), loads a document, not a frame, image or script that some page embeds; and not a prefetch or
    /// prerender (`Sec-Purpose`/`Purpose: prefetch`, `X-Moz: prefetch`, `X-Purpose: preview`), whose answer the user may
    /// never see. Only such a request receives a kept submission, or a page about one.
    public var isPageNavigation: Bool {
        guard method == "GET", !isAPIRequest else { return false }
        let dest = header("Sec-Fetch-Dest") ?? ""
        guard dest.isEmpty || dest == "document" else { return false }
        for name in ["Sec-Purpose", "Purpose", "X-Moz"] where header(name)?.lowercased().contains("prefetch") == true { return false }
        return header("X-Purpose")?.lowercased().contains("preview") != true
    }

    /// True when the query carries a `requestID` (the hand-off of step 6). Cheap on the common path: the query is only
    /// parsed when the text can hold one.
    public var carriesRequestID: Bool {
        // With REQUEST_URI sent (nginx and Apache always send it), the query is part of it, or QUERY_STRING: when
        // neither holds the bytes "requestID" (nearly every check), the answer is no without splitting the URI
        // Character by Character (~7k instructions a check).
        if (params.byteCount(of: "REQUEST_URI") ?? 0) > 0
            && !params.value(of: "REQUEST_URI", containsBytesOf: "requestID")
            && !params.value(of: "QUERY_STRING", containsBytesOf: "requestID") { return false }
        let query = queryString
        return query.utf8.count >= 9 && query.contains("requestID") && self.query["requestID"] != nil
    }
}
