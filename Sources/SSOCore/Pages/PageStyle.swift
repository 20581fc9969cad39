/// The stylesheet every page shares, with the accent colour from the branding config.
enum PageStyle {
    static func css(accent: String) -> String {
        """
        :root{--accent:\(accent);--ink:#1c2230;--muted:#5b6475;--line:#d9dee8;--bg:#f3f5f9;--bad:#b42318;--badbg:#fef3f2}
        *{box-sizing:border-box}
        html,body{margin:0;padding:0}
        body{min-height:100vh;display:flex;align-items:center;justify-content:center;background:var(--bg);
          font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink)}
        main{width:100%;max-width:26rem;margin:1.5rem;background:#fff;border:1px solid var(--line);border-radius:12px;
          padding:2rem 2rem 1.5rem;box-shadow:0 8px 24px rgba(28,34,48,.08)}
        .brand{display:flex;align-items:center;gap:.75rem;margin-bottom:1.25rem}
        .logo{width:2.5rem;height:2.5rem;border-radius:10px;background:var(--accent);color:#fff;display:flex;
          align-items:center;justify-content:center;font-weight:700;font-size:1.2rem}
        .logo-img{max-height:2.5rem;max-width:8rem}
        .product{font-weight:600;color:var(--muted)}
        h1{font-size:1.4rem;margin:0 0 .5rem}
        p{margin:.5rem 0;color:var(--muted)}
        .target{color:var(--ink);font-weight:600}
        label{display:block;font-weight:600;margin:1rem 0 .35rem}
        input[type=text],input[type=password]{width:100%;padding:.7rem .8rem;font-size:1rem;border:1px solid var(--line);
          border-radius:8px;background:#fff;color:var(--ink)}
        input:focus,button:focus,a:focus{outline:3px solid color-mix(in srgb,var(--accent) 45%,transparent);outline-offset:2px}
        button,.button{display:inline-block;width:100%;margin-top:1.5rem;padding:.75rem 1rem;font-size:1rem;font-weight:600;
          color:#fff;background:var(--accent);border:0;border-radius:8px;cursor:pointer;text-align:center;text-decoration:none}
        button:hover,.button:hover{filter:brightness(1.08)}
        .button.secondary,button.secondary{background:#fff;color:var(--accent);border:1px solid var(--line);margin-top:.75rem}
        .alert{margin:1rem 0 0;padding:.75rem .9rem;border-radius:8px;background:var(--badbg);color:var(--bad);
          border:1px solid #fecdca}
        .alert:empty{display:none}
        .info{background:#eef4ff;color:#1d3a8a;border-color:#c7d7fe}
        ul.links{padding-left:1.2rem}
        footer{margin-top:1.5rem;font-size:.85rem;color:var(--muted);text-align:center}
        @media (max-width:480px){main{margin:0;border-radius:0;border:0;min-height:100vh;padding:1.5rem}}
        """
    }
}
