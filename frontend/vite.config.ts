/// <reference types="vitest/config" />
// The app is served by Django under /static/app/ (whitenoise); `npm run dev` proxies the API to a
// local `make run` so the same session cookie and CSRF rules apply in development.
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

export default defineConfig({
  base: "/static/app/",
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 1200 },
  server: {
    proxy: { "/api": "http://127.0.0.1:8000", "/tiles": "http://127.0.0.1:8000" },
  },
  test: { include: ["src/**/*.test.ts"], environment: "node" },
});
