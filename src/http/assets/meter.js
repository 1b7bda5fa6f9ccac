const es=new EventSource('/api/v1/live?meter='+encodeURIComponent(METER));
es.addEventListener('reading',e=>{const r=JSON.parse(e.data);const c=document.getElementById('q-'+r.quantity);
 if(c){c.querySelector('.v').textContent=r.value.toLocaleString(undefined,{maximumFractionDigits:3});
 c.querySelector('.t').textContent=new Date(r.time).toLocaleTimeString('zh-CN',{hour12:false,timeZone:TZ});c.className='fresh';}});
