import { defineConfig } from "vite";

// The page lives in web/ and builds to web/dist, which the Rust server serves. `npm run dev -w
// example-pipeline` serves it with hot reload and forwards the API and the hub to the server
// (`cargo run -p example-pipeline`, on 127.0.0.1:3000).
export default defineConfig({
  root: "web",
  // JSX through esbuild (React's automatic runtime): no Babel plugin needed.
  esbuild: { jsx: "automatic" },
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:3000",
      "/v1": { target: "ws://127.0.0.1:3000", ws: true },
    },
  },
});
